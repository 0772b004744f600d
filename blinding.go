//go:build cgo

package s2n

import (
	"container/list"
	"net"
	"sync"
	"syscall"
	"time"
)

// After a failed handshake s2n asks for a delay of 10-30 s (by default)
// before the peer learns anything more, to blunt timing attacks. A Conn
// keeps it without holding s2n: its Close has s2n write the alert it held
// back at once, frees the s2n connection and every buffer, and keeps only
// the transport, those few bytes and a timer until the delay has passed
// (blindHold). Then the alert is sent and the transport closed.
//
// Each held transport is a file descriptor for 10-30 s, so a peer that
// fails handshakes on purpose could exhaust them. At most maxBlinded are
// held at once, process-wide: beyond that the longest-held one is let go
// early (its alert sent, its transport closed), which tells the attacker
// nothing about its handshake, since the moment it ends is set by a later
// failure, not by its own processing.

var (
	blindMu      sync.Mutex
	blindHeld    list.List // of *blindHold, oldest first
	blindLimit   int       // 0: not yet set, see blindingLimit
	blindEvicted int64
)

// SetMaxBlindedConns bounds how many transports of failed handshakes are
// held open at once for their blinding delay, in the whole process. When
// the bound is reached, the one held longest is released early to make
// room. n <= 0 restores the default: half of the process's file descriptor
// limit (RLIMIT_NOFILE) at the time of the first failed handshake, or
// 10,000 if it cannot be read.
func SetMaxBlindedConns(n int) {
	blindMu.Lock()
	defer blindMu.Unlock()
	blindLimit = max(n, 0)
}

// blindingLimit is the bound in force; blindMu is held.
func blindingLimit() int {
	if blindLimit == 0 {
		blindLimit = 10000
		var rl syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur > 2 {
			blindLimit = int(min(rl.Cur/2, 1<<30))
		}
	}
	return blindLimit
}

// blindHold is one transport held for its blinding delay.
type blindHold struct {
	conn  net.Conn
	alert []byte
	elem  *list.Element // nil once released
	timer *time.Timer
}

// holdForBlinding keeps conn open for wait, then sends alert and closes it.
func holdForBlinding(conn net.Conn, alert []byte, wait time.Duration) {
	h := &blindHold{conn: conn, alert: alert}
	blinding.Add(1)
	blindMu.Lock()
	var evicted *blindHold
	if blindHeld.Len() >= blindingLimit() {
		evicted = blindHeld.Front().Value.(*blindHold)
		evicted.unlink()
		blindEvicted++
	}
	h.elem = blindHeld.PushBack(h)
	h.timer = time.AfterFunc(wait, h.expire)
	blindMu.Unlock()
	if evicted != nil {
		evicted.timer.Stop()
		evicted.send()
	}
}

// unlink takes h off the list; blindMu is held.
func (h *blindHold) unlink() {
	blindHeld.Remove(h.elem)
	h.elem = nil
}

func (h *blindHold) expire() {
	blindMu.Lock()
	if h.elem == nil { // evicted meanwhile
		blindMu.Unlock()
		return
	}
	h.unlink()
	blindMu.Unlock()
	h.send()
}

// send writes the alert and closes the transport.
func (h *blindHold) send() {
	defer blinding.Add(-1)
	if len(h.alert) > 0 {
		h.conn.SetWriteDeadline(time.Now().Add(closeNotifyTimeout))
		h.conn.Write(h.alert)
	}
	h.conn.Close()
}

// blindingEvicted is how many holds were released early to make room.
func blindingEvicted() int64 {
	blindMu.Lock()
	defer blindMu.Unlock()
	return blindEvicted
}
