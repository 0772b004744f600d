package redissession_test

import (
	"context"
	"encoding/hex"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s2n-go/s2n/redissession"
	"github.com/stretchr/testify/require"
)

// TestCache: against a real redis-server, Store writes under the prefix
// with s2n's ttl, Retrieve finds it, Delete removes it; with Redis stalled
// Retrieve answers "not found" within the timeout and the Cache logs one
// line, and another when Redis answers again; a full write queue drops
// writes and says so.
func TestCache(t *testing.T) {
	r := startRedis(t)
	rc := r.client(t)
	var log lines
	client := redissession.NewClient(r.Addr, 300*time.Millisecond)
	t.Cleanup(func() { client.Close() })
	cache := redissession.New(client, redissession.Options{Prefix: "test:", Timeout: 300 * time.Millisecond, QueueSize: 4, Logf: log.Logf})
	t.Cleanup(func() { cache.Close() })

	id := []byte{0xde, 0xad, 0xbe, 0xef}
	key := "test:" + hex.EncodeToString(id)
	cache.Store(id, []byte("session state"), time.Hour)
	require.Equal(t, []byte("session state"), waitKey(t, rc, key))
	ttl, err := rc.PTTL(context.Background(), key).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 59*time.Minute, "stored with s2n's ttl")
	require.LessOrEqual(t, ttl, time.Hour)

	v, ok := cache.Retrieve(id)
	require.True(t, ok)
	require.Equal(t, []byte("session state"), v)
	_, ok = cache.Retrieve([]byte{1, 2, 3})
	require.False(t, ok, "a missing key")

	cache.Delete(id)
	eventually(t, "Delete to reach Redis", func() bool {
		n, err := rc.Exists(context.Background(), key).Result()
		return err == nil && n == 0
	})
	_, ok = cache.Retrieve(id)
	require.False(t, ok)
	require.Empty(t, log.String(), "nothing to log while Redis answers")
	require.Zero(t, cache.Stats())

	// Redis stalls: its port still accepts, nothing answers.
	cache.Store(id, []byte("again"), time.Hour)
	waitKey(t, rc, key)
	r.signal(t, syscall.SIGSTOP)
	start := time.Now()
	_, ok = cache.Retrieve(id)
	took := time.Since(start)
	require.False(t, ok, "a stalled Redis finds nothing")
	t.Logf("Retrieve with Redis stalled returned after %v", took)
	// The first failure logged may be the GET's or, when Redis stopped
	// before sending the reply to the last SET, that SET's.
	require.Regexp(t, `^redissession: Redis (GET|SET) failed: .*full handshakes`, log.String())
	// The writer is stuck for a timeout on each write: the queue of 4 fills.
	for range 50 {
		cache.Store(id, []byte("x"), time.Hour)
	}
	require.Positive(t, cache.Stats().Dropped)
	require.Contains(t, log.String(), "redissession: write queue full")
	_, ok = cache.Retrieve(id)
	require.False(t, ok)
	require.Equal(t, 1, strings.Count(log.String(), "failed: "), "one line per outage:\n%s", log.String())

	r.signal(t, syscall.SIGCONT)
	eventually(t, "the Cache to see Redis again", func() bool {
		v, ok := cache.Retrieve(id)
		return ok && len(v) > 0
	})
	require.Contains(t, log.String(), "redissession: Redis answers again")
	require.Positive(t, cache.Stats().Failures)

	// After Close, writes are dropped silently; Close is idempotent.
	require.NoError(t, cache.Close())
	require.NoError(t, cache.Close())
	cache.Delete(id)
	v, ok = cache.Retrieve(id)
	require.True(t, ok, "Retrieve still reads after Close")
	require.NotEmpty(t, v)
}
