package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"os"
	"runtime"
	"strings"
)

// kTLS: once the handshake is done, s2n hands the connection's keys to the
// kernel's TLS upper-layer protocol, which then encrypts what is written to
// the socket and decrypts what is read from it. It needs a Linux kernel
// with the "tls" TCP upper-layer protocol (the tls module), a connection
// that reads and writes its file descriptor itself (Connection.SetFd), and
// an AES-GCM cipher suite.

// KernelTLSAvailable reports whether the running kernel offers the "tls"
// TCP upper-layer protocol, as listed in
// /proc/sys/net/ipv4/tcp_available_ulp. Where it is missing,
// Connection.EnableKTLSSend and EnableKTLSRecv fail with
// S2N_ERR_KTLS_ENABLE. The kernel may load the module on first use even
// when it is not listed yet; the enable calls are the authority.
func KernelTLSAvailable() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_ulp")
	if err != nil {
		return false
	}
	for _, ulp := range strings.Fields(string(b)) {
		if ulp == "tls" {
			return true
		}
	}
	return false
}

// EnableKTLSUnsafeTLS13 lets connections using this Config enable kTLS in
// TLS 1.3 (s2n_config_ktls_enable_unsafe_tls13). s2n calls it unsafe: the
// kernel cannot update TLS 1.3 keys, so a kTLS connection fails once a key
// update is due (by the peer's KeyUpdate or a key's record limit).
func (c *Config) EnableKTLSUnsafeTLS13() error {
	rec := setting{name: "EnableKTLSUnsafeTLS13", replay: (*Config).EnableKTLSUnsafeTLS13}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_ktls_enable_unsafe_tls13(p, e)
	})
}

// EnableKTLSSend hands the sending key to the kernel
// (s2n_connection_ktls_enable_send): from then on Send writes plaintext to
// the socket, which the kernel encrypts, and Sendfile works. It needs a
// completed handshake, a file descriptor set with SetFd, nothing left
// unsent, an AES-GCM suite, TLS 1.2 (or TLS 1.3 with
// Config.EnableKTLSUnsafeTLS13), no serialization version and, on a client,
// no renegotiation callback. Where the kernel lacks the TLS upper-layer
// protocol it fails with S2N_ERR_KTLS_ENABLE and the connection goes on in
// userspace, unchanged.
func (c *Connection) EnableKTLSSend() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_ktls_enable_send(p, e)
	})
}

// EnableKTLSRecv hands the receiving key to the kernel
// (s2n_connection_ktls_enable_recv): from then on the kernel decrypts what
// Recv reads. Its needs and its failure are those of EnableKTLSSend, and
// s2n must hold no received bytes not yet read by Recv.
func (c *Connection) EnableKTLSRecv() error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_ktls_enable_recv(p, e)
	})
}

// Sendfile sends count bytes of file f from offset over the connection
// (s2n_sendfile): the kernel copies them from the file to the socket and
// encrypts them, with no copy through the process. It needs EnableKTLSSend
// to have succeeded; before that it fails with S2N_ERR_KTLS_UNSUPPORTED_CONN.
// It returns how many bytes were sent, which may be fewer than count with
// ErrBlocked on a non-blocking socket: call it again for the rest.
func (c *Connection) Sendfile(f *os.File, offset int64, count int) (int, Blocked, error) {
	if f == nil || offset < 0 || count < 0 {
		return 0, NotBlocked, usageError(nameInvalidArg, "Sendfile needs a file, offset >= 0 and count >= 0")
	}
	s := c.state()
	if err := s.drive(c, "Sendfile"); err != nil {
		return 0, NotBlocked, err
	}
	var written C.size_t
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	rc := C.go_s2n_sendfile(s.ptr, C.int(f.Fd()), C.off_t(offset), C.size_t(count), &written, &blocked, &e)
	runtime.KeepAlive(f)
	err := s.finish(rc < 0, &e)
	return int(written), Blocked(blocked), err
}
