//go:build cgo

package s2n

import (
	"context"
	"runtime"
	"slices"
	"sync"
)

// handshakeGate bounds how many Conn handshakes run inside s2n at once to
// GOMAXPROCS. A cgo call holds its OS thread; once it has run for 20 µs the
// runtime hands the goroutine's P to another thread, which may enter s2n
// too. Without a bound, a burst of handshakes on a busy machine turns into
// one thread per handshake in flight (each taking its share of the same
// cores, for no gain). With it, handshakes beyond GOMAXPROCS wait parked, as
// goroutines, and threads stay near 2×GOMAXPROCS.
//
// A private-key callback gives the slot back as it starts (see
// goS2nAsyncPkey): a callback that blocks must not hold up other handshakes.
var handshakeGate gate

// gate is a FIFO semaphore whose size is GOMAXPROCS at each acquire.
type gate struct {
	mu      sync.Mutex
	busy    int
	waiters []chan struct{}
}

// acquire takes a slot, waiting for one while ctx allows.
func (g *gate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if len(g.waiters) == 0 && g.busy < runtime.GOMAXPROCS(0) {
		g.busy++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.waiters, ch); i >= 0 {
			g.waiters = slices.Delete(g.waiters, i, i+1)
			g.mu.Unlock()
			return ctx.Err()
		}
		g.mu.Unlock()
		g.release() // handed a slot meanwhile: pass it on
		return ctx.Err()
	}
}

// release gives a slot back, to the longest waiter if there is one.
// tryAcquire takes a slot if one is free and nobody waits, without waiting.
func (g *gate) tryAcquire() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiters) == 0 && g.busy < runtime.GOMAXPROCS(0) {
		g.busy++
		return true
	}
	return false
}

func (g *gate) release() {
	g.mu.Lock()
	if len(g.waiters) > 0 {
		ch := g.waiters[0]
		g.waiters = slices.Delete(g.waiters, 0, 1)
		g.mu.Unlock()
		ch <- struct{}{}
		return
	}
	g.busy--
	g.mu.Unlock()
}
