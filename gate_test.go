package s2n

import (
	"context"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGateBoundsAndOrder(t *testing.T) {
	var g gate
	ctx := context.Background()
	n := runtime.GOMAXPROCS(0)
	for range n {
		require.NoError(t, g.acquire(ctx))
	}
	// Full: a cancelled wait gives up and takes nothing.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, g.acquire(cctx), context.DeadlineExceeded)

	// Waiters are served first come, first served.
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			require.NoError(t, g.acquire(ctx))
			order <- i
		}()
		require.Eventually(t, func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return len(g.waiters) == i+1
		}, time.Second, time.Millisecond)
	}
	for want := range 3 {
		g.release()
		require.Equal(t, want, <-order)
	}
	for range n {
		g.release()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	require.Equal(t, 0, g.busy, "every slot back")
	require.Empty(t, g.waiters)
}

// TestGateKeyCallbackGivesSlotBack: with one slot (GOMAXPROCS=1), two
// handshakes whose key callbacks each wait for the other's to start can
// only finish if a callback gives its slot back.
func TestGateKeyCallbackGivesSlotBack(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ec, _, _ := testKeys(t)
	var barrier sync.WaitGroup
	barrier.Add(2)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec,
		fn: func(conn *Connection, op *AsyncPkeyOp) error {
			barrier.Done()
			barrier.Wait() // blocks inside the callback until both are in
			return performAndApply(conn, op)
		}})
	client := clientConfig(t, "default_tls13", ec)

	addr, served := serveResults(t, server, 2, func(c *Conn) error { return c.HandshakeContext(t.Context()) })
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			tc := Client(c, client, "localhost")
			defer tc.Close()
			errs <- tc.HandshakeContext(t.Context())
		}()
	}
	timeout := time.After(20 * time.Second)
	for _, ch := range []<-chan error{served, served, errs, errs} {
		select {
		case err := <-ch:
			require.NoError(t, err)
		case <-timeout:
			t.Fatal("handshakes wedged: a blocked key callback kept its gate slot")
		}
	}
}
