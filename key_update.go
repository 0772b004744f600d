package s2n

// #include "cgo_helpers.h"
import "C"

// TLS 1.3 key updates: a long-lived connection moves to fresh traffic keys
// without a new handshake (RFC 8446, section 4.6.3).

// RequestKeyUpdate makes s2n update this side's sending key
// (s2n_connection_request_key_update): the KeyUpdate message goes out, and
// the new key is used, with the next Send that has data to send; a TLS 1.2
// connection ignores the request. s2n supports only KeyUpdateNotRequested,
// and answers a peer's KeyUpdate that requests one on its next Send. s2n
// also updates its key by itself before a key reaches its cipher's record
// limit.
func (c *Connection) RequestKeyUpdate(peer PeerKeyUpdate) error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_request_key_update(p, C.s2n_peer_key_update(peer), e)
	})
}

// KeyUpdateCounts reports how many times the sending and the receiving key
// have been updated (unstable s2n_connection_get_key_update_counts). s2n
// counts up to 255: 255 means 255 or more.
func (c *Connection) KeyUpdateCounts() (send, recv int, err error) {
	var s, r C.uint8_t
	err = c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_key_update_counts(p, &s, &r, e)
	})
	return int(s), int(r), err
}

// RequestKeyUpdate moves this side to a fresh sending key
// (s2n_connection_request_key_update): the KeyUpdate message goes out with
// the next Write, and what that Write sends is encrypted with the new key.
// It needs a completed TLS 1.3 handshake (TLS 1.2 has no key update) and
// may be called concurrently with Read and Write. A peer's KeyUpdate is
// handled by Read, which answers a request for one on the next Write.
func (c *Conn) RequestKeyUpdate() error {
	if !c.handshakeDone.Load() {
		return usageError(nameInvalidArg, "RequestKeyUpdate before the handshake completed")
	}
	if v := c.c.ProtocolVersion(); v < TLS13 {
		return usageError(nameInvalidArg, "RequestKeyUpdate needs TLS 1.3; this connection is %v", v)
	}
	return c.c.RequestKeyUpdate(KeyUpdateNotRequested)
}

// KeyUpdateCounts reports how many times the sending and the receiving key
// have been updated since the handshake (unstable
// s2n_connection_get_key_update_counts); s2n counts up to 255.
func (c *Conn) KeyUpdateCounts() (send, recv int, err error) {
	return c.c.KeyUpdateCounts()
}
