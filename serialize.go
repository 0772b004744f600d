package s2n

// #include "cgo_helpers.h"
import "C"

import "unsafe"

// Serialization: a connection whose handshake is done is written out as
// its keys, sequence numbers and negotiated parameters, and read back into
// a new connection, in this process or another one that was handed the
// socket, which goes on without a new handshake.

// SerializationVersion is the format of serialized connections
// (s2n_serialization_version).
type SerializationVersion int

// The serialization versions.
const (
	SerializationNone SerializationVersion = C.S2N_SERIALIZED_CONN_NONE
	SerializationV1   SerializationVersion = C.S2N_SERIALIZED_CONN_V1
)

// SetSerializationVersion lets connections using this Config be serialized
// in format v (s2n_config_set_serialization_version). Set it on the Config
// of both the connection that is serialized and the one it is deserialized
// into: s2n keeps what it negotiates to what that version can carry. A
// Config with a version set cannot be used with kTLS.
func (c *Config) SetSerializationVersion(v SerializationVersion) error {
	if v != SerializationNone && v != SerializationV1 {
		return usageError(nameInvalidArg, "invalid serialization version %d", int(v))
	}
	rec := setting{name: "SetSerializationVersion", replay: func(d *Config) error { return d.SetSerializationVersion(v) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_serialization_version(p, C.s2n_serialization_version(v), e)
	})
}

// SerializationLength is the size of what Serialize returns for this
// connection (s2n_connection_serialization_length); it depends on the
// negotiated protocol and cipher suite.
func (c *Connection) SerializationLength() (int, error) {
	var n C.uint32_t
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_serialization_length(p, &n, e)
	})
	return int(n), err
}

// Serialize writes out the connection's state (s2n_connection_serialization_length,
// s2n_connection_serialize) for Deserialize. It needs a completed handshake,
// a Config with a serialization version, and nothing received but not yet
// read or sent but not yet written. Afterwards this connection can no
// longer send or receive: Close it without Shutdown, which would write to
// the socket the deserialized connection now owns.
//
// The bytes hold the connection's traffic secrets in plaintext and carry
// no integrity check: encrypt and authenticate them before they leave the
// process, as s2n requires.
func (c *Connection) Serialize() ([]byte, error) {
	var out []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		var n C.uint32_t
		if C.go_s2n_connection_serialization_length(p, &n, e) < 0 {
			return -1
		}
		out = make([]byte, int(n))
		return C.go_s2n_connection_serialize(p, (*C.uint8_t)(unsafe.SliceData(out)), n, e)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Deserialize makes this new connection the one Serialize wrote out
// (s2n_connection_deserialize): its handshake counts as complete, and it
// sends and receives once it has the socket (SetFd or the I/O callbacks).
// Its mode must be the serialized connection's. s2n does not check b's
// integrity: a modified b gives a connection that fails or misbehaves.
func (c *Connection) Deserialize(b []byte) error {
	if len(b) == 0 || len(b) > 1<<16 {
		return usageError(nameInvalidArg, "serialized connection of %d bytes", len(b))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_deserialize(p, (*C.uint8_t)(unsafe.SliceData(b)), C.uint32_t(len(b)), e)
	})
}
