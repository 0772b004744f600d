package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// Record layer and I/O controls: how s2n sizes the records it sends, and
// how much it reads and returns per call.

// SetSendBufferSize sets the size of each connection's output buffer
// (s2n_config_set_send_buffer_size). A buffer larger than a record lets s2n
// gather several records before writing them; a smaller one makes records
// smaller. s2n refuses sizes below 1034 bytes.
func (c *Config) SetSendBufferSize(size uint32) error {
	rec := setting{name: "SetSendBufferSize", replay: func(d *Config) error { return d.SetSendBufferSize(size) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_send_buffer_size(p, C.uint32_t(size), e)
	})
}

// SetRecvMultiRecord makes Recv fill the caller's buffer from as many
// records as are available, instead of returning after one record
// (s2n_config_set_recv_multi_record). On a blocking file descriptor Recv
// then waits until the buffer is full or the peer closes.
func (c *Config) SetRecvMultiRecord(enabled bool) error {
	rec := setting{name: "SetRecvMultiRecord", replay: func(d *Config) error { return d.SetRecvMultiRecord(enabled) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_recv_multi_record(p, C.bool(enabled), e)
	})
}

// SetRecvBuffering makes s2n read as many bytes as the transport has, up to
// its buffer's size, instead of one record at a time
// (s2n_connection_set_recv_buffering). Records read ahead stay in s2n:
// PeekBuffered counts them, and a poll on the file descriptor no longer
// sees them.
func (c *Connection) SetRecvBuffering(enabled bool) error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_recv_buffering(p, C.bool(enabled), e)
	})
}

// maxDynamicTimeout is the largest timeout s2n takes, in seconds.
const maxDynamicTimeout = 1<<16 - 1

// SetDynamicRecordThreshold makes the connection send records that fit one
// 1500-byte Ethernet frame for its first resize bytes, and again after
// timeout without sending (s2n_connection_set_dynamic_record_threshold);
// larger records, up to the maximum fragment length, come after. The
// timeout counts in whole seconds, at most 65535; resize is at most 8 MiB.
// Zero turns dynamic sizing off.
func (c *Connection) SetDynamicRecordThreshold(resize uint32, timeout time.Duration) error {
	secs := timeout / time.Second
	if timeout < 0 || secs > maxDynamicTimeout || timeout%time.Second != 0 {
		return usageError(nameInvalidArg, "dynamic record timeout %v: whole seconds from 0 to %d", timeout, maxDynamicTimeout)
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_dynamic_record_threshold(p, C.uint32_t(resize), C.uint16_t(secs), e)
	})
}

// Peek reports how many decrypted bytes of the current record Recv has yet
// to return (s2n_peek); 0 once closed.
func (c *Connection) Peek() int {
	var n C.uint32_t
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		n = C.s2n_peek(p)
		return 0
	})
	return int(n)
}

// PeekBuffered reports how many bytes of records not yet processed s2n
// holds after the current one (s2n_peek_buffered): only SetRecvBuffering
// makes it read ahead, so it is 0 otherwise, and once closed.
func (c *Connection) PeekBuffered() int {
	var n C.uint32_t
	c.simple(func(p *C.struct_s2n_connection, _ *C.go_s2n_error) C.int {
		n = C.s2n_peek_buffered(p)
		return 0
	})
	return int(n)
}

// MaxFragmentLength is a code of the TLS max_fragment_length extension
// (s2n_max_frag_len).
type MaxFragmentLength int

const (
	MaxFragmentLength512  MaxFragmentLength = C.S2N_TLS_MAX_FRAG_LEN_512
	MaxFragmentLength1024 MaxFragmentLength = C.S2N_TLS_MAX_FRAG_LEN_1024
	MaxFragmentLength2048 MaxFragmentLength = C.S2N_TLS_MAX_FRAG_LEN_2048
	MaxFragmentLength4096 MaxFragmentLength = C.S2N_TLS_MAX_FRAG_LEN_4096
)

// SendMaxFragmentLength makes a client ask the server, with the
// max_fragment_length extension, for records of at most that size
// (s2n_config_send_max_fragment_length).
func (c *Config) SendMaxFragmentLength(code MaxFragmentLength) error {
	if code < MaxFragmentLength512 || code > MaxFragmentLength4096 {
		return usageError(nameInvalidArg, "unknown max fragment length code %d", code)
	}
	rec := setting{name: "SendMaxFragmentLength", replay: func(d *Config) error { return d.SendMaxFragmentLength(code) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_send_max_fragment_length(p, C.s2n_max_frag_len(code), e)
	})
}

// AcceptMaxFragmentLength makes a server honour a client's
// max_fragment_length extension (s2n_config_accept_max_fragment_length);
// by default it ignores it.
func (c *Config) AcceptMaxFragmentLength() error {
	rec := setting{name: "AcceptMaxFragmentLength", replay: (*Config).AcceptMaxFragmentLength}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_accept_max_fragment_length(p, e)
	})
}

// UseCorkedIO makes s2n cork its TCP socket while it writes a flight of
// records, so that they leave in as few segments as possible
// (s2n_connection_use_corked_io). Only for a connection whose socket s2n
// writes itself: SetFd, or a Conn over a *net.TCPConn (its socket path);
// for a Conn over any other net.Conn the transport is the binding's and s2n
// refuses with S2N_ERR_CORK_SET_ON_UNMANAGED.
func (c *Connection) UseCorkedIO() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_use_corked_io(p, e)
	})
}

// SetDynamicBuffers makes s2n free the connection's I/O buffers whenever
// they are empty, and allocate them again when needed
// (s2n_connection_set_dynamic_buffers): less memory per idle connection,
// more allocations. For a Conn, Config.SetReleaseBuffersWhenIdle does the
// same and also frees the binding's own buffers.
func (c *Connection) SetDynamicBuffers(enabled bool) error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_dynamic_buffers(p, C.bool(enabled), e)
	})
}

// Sendv encrypts and writes the buffers bufs as one stream, starting at
// byte offset off of their concatenation (s2n_sendv when off is 0,
// s2n_sendv_with_offset otherwise): records are cut across buffer
// boundaries, without a copy into one buffer first. It returns how many
// bytes, from off, were consumed; on a partial write or ErrBlocked call it
// again with off advanced by that count.
func (c *Connection) Sendv(bufs [][]byte, off int) (int, Blocked, error) {
	if off < 0 {
		return 0, NotBlocked, usageError(nameInvalidArg, "negative offset %d", off)
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if off > total {
		return 0, NotBlocked, usageError(nameInvalidArg, "offset %d beyond the %d bytes of bufs", off, total)
	}
	s := c.state()
	if err := s.drive(c, "Sendv"); err != nil {
		return 0, NotBlocked, err
	}
	// The iovec array is C memory holding Go pointers: cgo allows that for
	// pinned memory only.
	var pin runtime.Pinner
	defer pin.Unpin()
	n := max(len(bufs), 1)
	iov := (*C.struct_iovec)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.struct_iovec{}))))
	defer C.free(unsafe.Pointer(iov))
	vec := unsafe.Slice(iov, n)
	for i, b := range bufs {
		if len(b) == 0 {
			continue
		}
		pin.Pin(&b[0])
		vec[i].iov_base = unsafe.Pointer(&b[0])
		vec[i].iov_len = C.size_t(len(b))
	}
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	var w C.ssize_t
	if off == 0 {
		w = C.go_s2n_sendv(s.ptr, iov, C.ssize_t(len(bufs)), &blocked, &e)
	} else {
		w = C.go_s2n_sendv_with_offset(s.ptr, iov, C.ssize_t(len(bufs)), C.ssize_t(off), &blocked, &e)
	}
	err := s.finish(w < 0, &e)
	return max(int(w), 0), Blocked(blocked), err
}
