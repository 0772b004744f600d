package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"runtime"
	"sync"
	"time"
)

// Clocks: s2n reads a Config's wall clock for ticket and PSK lifetimes,
// ticket key schedules and certificate and OCSP validity, and its monotonic
// clock for the blinding delay and dynamic record sizing. A Clock moves
// both forward, so that tests can expire tickets or end a blinding delay
// without sleeping.

// maxClockOffset bounds how far a Clock may be advanced: the wall clock
// plus the offset must stay far from overflowing s2n's 64-bit nanoseconds.
const maxClockOffset = 100 * 365 * 24 * time.Hour

// Clock is the system's clock plus an offset that only grows: a Config
// given it with SetWallClock or SetMonotonicClock reads the system's clock
// (CLOCK_REALTIME, CLOCK_MONOTONIC) plus the Clock's offset. It never runs
// backwards, so one Clock may serve as both clocks of several Configs.
//
// The offset is kept in C memory and read by s2n without calling into Go:
// s2n reads its clocks inside calls that must not call back, such as
// s2n_send, s2n_recv and s2n_config_add_ticket_crypto_key, which rules out
// a clock function written in Go. A Clock is safe for concurrent use; its C memory
// is freed once neither it nor a Config using it is reachable.
type Clock struct {
	p  *C.go_s2n_clock
	mu sync.Mutex // serialises Advance's range check
}

// NewClock returns a Clock with no offset: until advanced, it reads as the
// system's clock.
func NewClock() *Clock {
	p := C.go_s2n_clock_new()
	if p == nil {
		panic("s2n: out of memory for a Clock")
	}
	c := &Clock{p: p}
	runtime.AddCleanup(c, func(p *C.go_s2n_clock) { C.go_s2n_clock_free(p) }, p)
	return c
}

// Advance moves the clock forward by d, at once for every Config using
// it. d must not be negative, and the total offset must stay within 100
// years.
func (c *Clock) Advance(d time.Duration) error {
	if c == nil || c.p == nil {
		return usageError(nameInvalidArg, "nil or zero *Clock: use NewClock")
	}
	if d < 0 {
		return usageError(nameInvalidArg, "a Clock only moves forward: Advance(%v)", d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offset() > maxClockOffset-d {
		return usageError(nameInvalidArg, "Advance(%v) would take the Clock's offset beyond %v", d, maxClockOffset)
	}
	C.go_s2n_clock_advance(c.p, C.int64_t(d))
	runtime.KeepAlive(c)
	return nil
}

// Offset is how far the Clock has been advanced in all.
func (c *Clock) Offset() time.Duration {
	if c == nil || c.p == nil {
		return 0
	}
	return c.offset()
}

func (c *Clock) offset() time.Duration {
	d := time.Duration(C.go_s2n_clock_offset(c.p))
	runtime.KeepAlive(c)
	return d
}

// Now is the wall-clock time a Config using the Clock reads.
func (c *Clock) Now() time.Time { return time.Now().Add(c.Offset()) }

// cClock is the C clock for s2n's ctx, NULL for nil.
func (c *Clock) cClock() *C.go_s2n_clock {
	if c == nil {
		return nil
	}
	return c.p
}

// SetWallClock makes the Config's connections read the wall-clock time
// from clock (s2n_config_set_wall_clock): the system's time plus the
// Clock's offset. nil restores the system's time. s2n reads it for session
// ticket and PSK lifetimes, ticket key schedules, and the validity of
// certificates and OCSP responses. Set it before AddTicketKey: a key added
// with a zero introduction time is introduced at the Config's "now".
func (c *Config) SetWallClock(clock *Clock) error {
	if clock != nil && clock.p == nil {
		return usageError(nameInvalidArg, "zero *Clock: use NewClock")
	}
	rec := setting{name: "SetWallClock", replay: func(d *Config) error { return d.SetWallClock(clock) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_wall_clock(p, clock.cClock(), e) < 0 {
			return -1
		}
		c.s.wallClock = clock
		return 0
	})
}

// SetMonotonicClock adds clock's offset to the binding's monotonic clock
// for the Config's connections (s2n_config_set_monotonic_clock); nil
// removes it. s2n measures the blinding delay after a failed handshake
// with it, so advancing the Clock past the delay makes
// [Connection.Delay] zero and a [Conn] closed after that holds nothing
// back: a Conn reads the delay when it is closed, and a delay it is
// already keeping runs its course. The binding keeps its own part of the
// clock (see NewConfig): a Conn still frees the s2n connection of a failed
// handshake at once.
func (c *Config) SetMonotonicClock(clock *Clock) error {
	if clock != nil && clock.p == nil {
		return usageError(nameInvalidArg, "zero *Clock: use NewClock")
	}
	rec := setting{name: "SetMonotonicClock", replay: func(d *Config) error { return d.SetMonotonicClock(clock) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_monotonic_clock(p, clock.cClock(), e) < 0 {
			return -1
		}
		c.s.monoClock = clock
		return 0
	})
}
