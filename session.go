package s2n

// #include "cgo_helpers.h"
import "C"
import (
	"bytes"
	"math"
	"time"
	"unsafe"
)

// Session resumption: tickets, their keys, and saved session state.

// maxSessionSize bounds serialized session state (tickets are a few hundred
// bytes).
const maxSessionSize = 1 << 16

// SetSession offers a session saved from an earlier connection, for
// resumption (s2n_connection_set_session). Client only.
func (c *Connection) SetSession(session []byte) error {
	if len(session) == 0 || len(session) > maxSessionSize {
		return usageError(nameInvalidArg, "session state of %d bytes", len(session))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_session(p, (*C.uint8_t)(&session[0]), C.size_t(len(session)), e)
	})
}

// Session returns the state needed to resume this session later, or nil
// when there is none (yet: TLS 1.3 tickets arrive after the handshake, with
// the first Recv) (s2n_connection_get_session_length, s2n_connection_get_session).
func (c *Connection) Session() ([]byte, error) {
	var out []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		buf := make([]byte, 4096)
		n := C.go_s2n_connection_get_session(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
		if int(n) > len(buf) {
			buf = make([]byte, n)
			n = C.go_s2n_connection_get_session(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
		}
		if n > 0 {
			out = buf[:n]
		}
		return min(n, 0)
	})
	return out, err
}

// SetSessionTickets turns session tickets on or off
// (s2n_config_set_session_tickets_onoff). A server also needs a ticket key
// (AddTicketKey) to issue them.
func (c *Config) SetSessionTickets(enabled bool) error {
	rec := setting{name: "SetSessionTickets", replay: func(d *Config) error { return d.SetSessionTickets(enabled) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_session_tickets_onoff(p, C.uint8_t(cBool(enabled)), e)
	})
}

// AddTicketKey adds a key that encrypts session tickets, usable from
// introduced on (zero: now) (s2n_config_add_ticket_crypto_key). name
// identifies the key (at most 16 bytes); key must be 16 to 64 random bytes.
func (c *Config) AddTicketKey(name, key []byte, introduced time.Time) error {
	if len(name) == 0 || len(name) > 16 || len(key) < 16 || len(key) > 64 {
		return usageError(nameInvalidArg, "ticket key name must be 1-16 bytes and key 16-64 bytes")
	}
	var intro uint64
	if !introduced.IsZero() {
		// s2n keeps nanoseconds in a uint64: before 1970 would wrap, after
		// 2554 would overflow.
		u := introduced.Unix()
		if u <= 0 || uint64(u) > math.MaxUint64/uint64(time.Second) {
			return usageError(nameInvalidArg, "ticket key introduction time %v out of range", introduced)
		}
		intro = uint64(u)
	} else {
		// What s2n takes for zero, so that a clone's key expires with this one.
		introduced = time.Unix(time.Now().Unix(), 0)
	}
	// s2n takes key as non-const; hand it a copy in C memory.
	ck := C.CBytes(key)
	defer func() {
		clear(unsafe.Slice((*byte)(ck), len(key)))
		C.free(ck)
	}()
	savedName, savedKey := bytes.Clone(name), bytes.Clone(key)
	rec := setting{name: "AddTicketKey", replay: func(d *Config) error { return d.AddTicketKey(savedName, savedKey, introduced) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_add_ticket_crypto_key(p, (*C.uint8_t)(&name[0]), C.uint32_t(len(name)), (*C.uint8_t)(ck),
			C.uint32_t(len(key)), C.uint64_t(intro), e)
	})
}
