// Package redissession is an [s2n.SessionCache] backed by Redis, so that
// a fleet of servers resumes each other's TLS 1.2 sessions by session ID.
//
// s2n stores each session encrypted with the Config's ticket key: servers
// sharing a cache must also share their ticket keys (for example through
// [s2n.TicketKeySchedule]), and the cache never holds a session in the
// clear.
//
// Every Redis call is bounded by [Options.Timeout]. When Redis is slow or
// down, Retrieve answers "not found" within that bound and s2n does a full
// handshake; Store and Delete, which run inside s2n and must not block,
// only queue their write, which a goroutine of the Cache sends. Changes of
// Redis's state (unreachable, reachable again) and a full write queue are
// logged, once each, through [Options.Logf].
package redissession

import (
	"context"
	"encoding/hex"
	"errors"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Options configure a [Cache]. The zero value is usable.
type Options struct {
	// Prefix namespaces the keys: a session is stored under Prefix and its
	// session ID in hex. Default "s2n:session:".
	Prefix string
	// Timeout bounds each Redis call (Retrieve's lookup, each queued
	// write). Default 200 ms.
	Timeout time.Duration
	// QueueSize is how many Store and Delete writes may wait to be sent;
	// beyond it they are dropped (a dropped Store means a later full
	// handshake; a dropped Delete leaves the entry to its TTL). Default 1024.
	QueueSize int
	// Logf receives the Cache's log lines; nil means the standard
	// library's log.Printf.
	Logf func(format string, args ...any)
}

// Cache is an [s2n.SessionCache] in Redis. It is safe for concurrent use.
// Close it to stop its writer goroutine.
type Cache struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	logf    func(format string, args ...any)

	writes chan write
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when the writer returns
	once   sync.Once

	down      atomic.Bool // the last Redis call failed
	queueFull atomic.Bool // a write was dropped since the last one sent
	failures  atomic.Uint64
	dropped   atomic.Uint64
}

type write struct {
	key   string
	value []byte // nil: delete
	ttl   time.Duration
}

// New returns a Cache over client, which it does not close. Give client
// timeouts no longer than opts.Timeout and ContextTimeoutEnabled, or use
// [NewClient]: each call's context carries the deadline, which go-redis
// applies to the connection only with ContextTimeoutEnabled.
func New(client redis.UniversalClient, opts Options) *Cache {
	if opts.Prefix == "" {
		opts.Prefix = "s2n:session:"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 200 * time.Millisecond
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	c := &Cache{
		client:  client,
		prefix:  opts.Prefix,
		timeout: opts.Timeout,
		logf:    opts.Logf,
		writes:  make(chan write, opts.QueueSize),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go c.writer()
	return c
}

// NewClient returns a go-redis client for the server at addr (host:port)
// whose dialing, reads, writes and pool waits are each bounded by timeout,
// that honors its calls' context deadlines, and that neither retries a
// command nor redials a refused connection: the client [New] expects. It does not send CLIENT SETINFO (DisableIdentity).
func NewClient(addr string, timeout time.Duration) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		DialTimeout:           timeout,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DialerRetries:         1,
		DisableIdentity:       true,
		// Cluster maintenance notifications are a feature of some managed
		// Redis services; the client would otherwise probe for them.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

func (c *Cache) key(id []byte) string { return c.prefix + hex.EncodeToString(id) }

// Store queues a SET of key to value with s2n's ttl, and returns at once.
func (c *Cache) Store(key, value []byte, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.enqueue(write{key: c.key(key), value: value, ttl: ttl})
}

// Delete queues a DEL of key, and returns at once.
func (c *Cache) Delete(key []byte) {
	c.enqueue(write{key: c.key(key)})
}

func (c *Cache) enqueue(w write) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.writes <- w:
	default:
		c.dropped.Add(1)
		if !c.queueFull.Swap(true) {
			c.logf("redissession: write queue full (%d waiting): dropping session writes until Redis catches up", cap(c.writes))
		}
	}
}

// Retrieve looks key up, waiting at most Options.Timeout. A missing entry
// and a failed lookup (logged) are both "not found": s2n then does a full
// handshake.
func (c *Cache) Retrieve(key []byte) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	v, err := c.client.Get(ctx, c.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		c.succeeded()
		return nil, false
	}
	if err != nil {
		c.failed("GET", err)
		return nil, false
	}
	c.succeeded()
	return v, true
}

// writer sends the queued writes, each within the timeout, until Close.
func (c *Cache) writer() {
	defer close(c.exited)
	for {
		select {
		case <-c.done:
			return
		case w := <-c.writes:
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			var err error
			op := "SET"
			if w.value == nil {
				op = "DEL"
				err = c.client.Del(ctx, w.key).Err()
			} else {
				err = c.client.Set(ctx, w.key, w.value, w.ttl).Err()
			}
			cancel()
			if err != nil {
				c.failed(op, err)
				continue
			}
			c.succeeded()
			c.queueFull.Store(false)
		}
	}
}

// failed records a failed call and logs the first of a series.
func (c *Cache) failed(op string, err error) {
	c.failures.Add(1)
	if !c.down.Swap(true) {
		c.logf("redissession: Redis %s failed: %v: TLS 1.2 sessions are neither stored nor resumed by session ID (full handshakes) until Redis answers again", op, err)
	}
}

// succeeded logs the end of a series of failures.
func (c *Cache) succeeded() {
	if c.down.Load() && c.down.Swap(false) {
		c.logf("redissession: Redis answers again: TLS 1.2 sessions are stored and resumed")
	}
}

// Stats are counts since the Cache was made.
type Stats struct {
	Failures uint64 // Redis calls that failed (including timeouts)
	Dropped  uint64 // writes dropped because the queue was full
}

// Stats returns the Cache's counts.
func (c *Cache) Stats() Stats {
	return Stats{Failures: c.failures.Load(), Dropped: c.dropped.Load()}
}

// Close stops the writer goroutine, after the write it is sending if any
// (bounded by the timeout); writes still queued are dropped, and later
// Store and Delete calls do nothing. It does not close the client. It is
// idempotent.
func (c *Cache) Close() error {
	c.once.Do(func() { close(c.done) })
	<-c.exited
	return nil
}
