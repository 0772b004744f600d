package s2n

// Handshake observability: s2n's handshake events and timing checkpoints
// (unstable/events.h).

// #include "cgo_helpers.h"
import "C"

import (
	"time"
)

// HandshakeEvent is s2n's summary of one handshake, success or failure
// (struct s2n_event_handshake).
type HandshakeEvent struct {
	Version ProtocolVersion
	// Cipher, Group and Policy are s2n's names of the cipher suite, the key
	// exchange group and the security policy ("" when none).
	Cipher, Group, Policy string
	// InNegotiate is the time spent inside s2n_negotiate calls; Duration
	// the time from the handshake's start to its end.
	InNegotiate, Duration time.Duration
	// Err is the handshake's failure, nil on success.
	Err *Error
}

// TimingCheckpoint marks a step of a handshake: a message written or read,
// the start or end of negotiation (struct s2n_timing_checkpoint).
type TimingCheckpoint struct {
	Name string // s2n's name, e.g. "NEGOTIATE_START", "CLIENT_HELLO", "RECORD_READ"
	Mode Mode   // the side reporting it
	At   time.Duration
}

// SetHandshakeEventCallback sets the function called once per handshake of
// the Config's connections with s2n's summary of it, on success and on
// failure (unstable s2n_config_set_handshake_event, with the Config as the
// subscriber of s2n_config_set_subscriber). It runs as a callback of conn,
// inside Negotiate: it must not block. A panic ends the connection.
func (c *Config) SetHandshakeEventCallback(fn func(conn *Connection, ev HandshakeEvent)) error {
	rec := setting{name: "SetHandshakeEventCallback", replay: func(d *Config) error { return d.SetHandshakeEventCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_handshake_event_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.handshakeEvent = fn
		return 0
	})
}

// SetTimingCheckpointCallback sets the function called at each step of
// the Config's handshakes (unstable s2n_config_set_timing_checkpoint_cb).
// Checkpoints share the clock of HandshakeEvent's times. It runs as a
// callback of conn, inside Negotiate: it must not block. A panic ends the
// connection.
func (c *Config) SetTimingCheckpointCallback(fn func(conn *Connection, cp TimingCheckpoint)) error {
	rec := setting{name: "SetTimingCheckpointCallback", replay: func(d *Config) error { return d.SetTimingCheckpointCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_timing_checkpoint_callback(p, cBool(fn != nil), e) < 0 {
			return -1
		}
		c.s.timingCheckpoint = fn
		return 0
	})
}

// handshakeEvent converts s2n's event.
func handshakeEvent(ev *C.struct_s2n_event_handshake) HandshakeEvent {
	out := HandshakeEvent{
		Version:     ProtocolVersion(ev.protocol_version),
		Cipher:      goStringOrEmpty(ev.cipher),
		Group:       goStringOrEmpty(ev.group),
		Policy:      goStringOrEmpty(ev.security_policy_label),
		InNegotiate: time.Duration(ev.handshake_time_ns),
	}
	if start, end := uint64(ev.handshake_start_ns), uint64(ev.handshake_end_ns); end >= start && start != 0 && start>>63 == 0 {
		out.Duration = time.Duration(end - start)
	}
	if ev.error_code != 0 {
		e := C.go_s2n_error{code: ev.error_code, _type: C.int(C.s2n_error_get_type(ev.error_code))}
		out.Err = newError(&e, nil)
	}
	return out
}
