package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"net"
)

// Serialize hands the connection over: it writes out the TLS state of a
// Conn whose handshake is complete (s2n_connection_serialize, see
// [Connection.Serialize]) and returns it with the transport, which the
// caller now owns. The Conn is spent: it frees its s2n connection and
// buffers without sending close_notify or closing the transport, and its
// methods then fail as after Close (Close itself does nothing more). Pass
// state and the transport (for a socket, its file descriptor, for example
// over a Unix socket with SCM_RIGHTS) to [DeserializeConn], in this
// process or another one, which goes on without a new handshake.
//
// It needs a Config with a serialization version
// ([Config.SetSerializationVersion]), no Read or Write running, and
// nothing received and not yet read: it fails otherwise, and the Conn
// stays usable. The state holds the traffic secrets in plaintext: encrypt
// and authenticate it before it leaves the process.
func (c *Conn) Serialize() (state []byte, transport net.Conn, err error) {
	if !c.handshakeDone.Load() {
		return nil, nil, usageError(nameInvalidArg, "Serialize before the handshake completed")
	}
	if !c.readMu.TryLock() {
		return nil, nil, usageError(nameInvalidArg, "Serialize with a Read running")
	}
	defer c.readMu.Unlock()
	if !c.writeMu.TryLock() {
		return nil, nil, usageError(nameInvalidArg, "Serialize with a Write running")
	}
	defer c.writeMu.Unlock()
	if c.closed.Load() {
		return nil, nil, net.ErrClosed
	}
	if err := c.flush(); err != nil {
		return nil, nil, err
	}
	if len(c.pendingIn) > 0 || c.bufferedIn() > 0 {
		return nil, nil, usageError(nameInvalidArg, "Serialize with received data not yet read")
	}
	state, err = c.c.Serialize()
	if err != nil {
		return nil, nil, err
	}
	if c.closed.Swap(true) {
		return nil, nil, net.ErrClosed
	}
	c.release()
	return state, c.conn, nil
}

// bufferedIn is how many received bytes the Conn's input buffer holds for
// s2n, or on the socket path s2n holds (records read ahead, which the
// serialized state would not carry).
func (c *Conn) bufferedIn() int {
	if c.fd != nil { // s2n's own buffer: the record being read, and those after it
		return c.c.Peek() + c.c.PeekBuffered()
	}
	c.closedMu.RLock()
	defer c.closedMu.RUnlock()
	if c.io == nil || c.io.in == nil {
		return 0
	}
	return int(c.io.in_len - c.io.in_off)
}

// DeserializeConn makes a Conn, over transport, from the state
// [Conn.Serialize] wrote out (s2n_connection_deserialize): its handshake
// counts as complete, and Read and Write go on with the keys and sequence
// numbers of the serialized connection. mode must be that connection's,
// and config must have the same serialization version (and should be
// made like the serialized connection's). ConnectionState and
// HandshakeInfo report what s2n restores: the version, cipher suite and
// server name, not the peer's certificates. On failure transport is not
// closed.
func DeserializeConn(transport net.Conn, config *Config, mode Mode, state []byte) (*Conn, error) {
	if transport == nil {
		return nil, usageError(nameInvalidArg, "nil net.Conn")
	}
	if config == nil {
		return nil, usageError(nameInvalidArg, "nil Config")
	}
	conn, err := NewConnection(mode)
	if err != nil {
		return nil, err
	}
	c := &Conn{conn: transport, config: config, isClient: mode == ModeClient}
	steps := []func() error{
		func() error { return conn.SetConfig(config) },
		func() error { return conn.SetBlinding(SelfServiceBlinding) },
		func() error { return conn.Deserialize(state) },
		func() error { return c.attachTransport(conn) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if c.fd != nil && config.s.connKTLSRecv {
		// attachTransport held recv buffering off for a kTLS attempt
		// that a deserialized Conn does not make.
		if err := conn.SetRecvBuffering(true); err != nil {
			conn.Close()
			return nil, err
		}
	}
	conn.s.wake = make(chan struct{}, 1)
	conn.s.netConn = transport
	c.c = conn
	c.releaseIdle = config.s.releaseIdle
	c.earlyDone = true
	c.state.Store(&stateSnapshot{facts: conn.readFacts(), conn: conn})
	c.handshakeDone.Store(true)
	return c, nil
}
