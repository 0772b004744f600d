package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
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
	n, blocked, err := s.sendfile(int(f.Fd()), offset, count)
	runtime.KeepAlive(f)
	return n, blocked, err
}

// sendfile is Sendfile on a descriptor; drive has taken the connection.
func (s *connState) sendfile(fd int, offset int64, count int) (int, Blocked, error) {
	var written C.size_t
	var blocked C.s2n_blocked_status
	var e C.go_s2n_error
	rc := C.go_s2n_sendfile(s.ptr, C.int(fd), C.off_t(offset), C.size_t(count), &written, &blocked, &e)
	err := s.finish(rc < 0, &e)
	return int(written), Blocked(blocked), err
}

// kTLS on Conn.

// EnableConnKTLS makes each [Conn] using this Config hand its keys to the
// kernel once its handshake is complete: the sending key
// (s2n_connection_ktls_enable_send) if send, the receiving key
// (s2n_connection_ktls_enable_recv) if recv. Only a Conn on which s2n reads
// and writes the socket itself can (over a *net.TCPConn; see [Conn]); the
// kernel needs its "tls" TCP upper-layer protocol ([KernelTLSAvailable]),
// and s2n needs what [Connection.EnableKTLSSend] lists (TLS 1.2, or TLS 1.3
// with [Config.EnableKTLSUnsafeTLS13]; an AES-GCM suite; no serialization
// version). When s2n or the kernel refuses, the Conn goes on in userspace,
// unchanged: [Conn.KTLS] reports what happened. A Conn that wants kTLS for
// receiving reads one record at a time during its handshake (no recv
// buffering), as s2n must hold nothing read ahead when it hands the key
// over; if receiving stays in userspace, it buffers from then on. A server
// Conn frees its handshake state (s2n_connection_free_handshake) only
// after the attempt, which needs it. [DeserializeConn] does not try.
func (c *Config) EnableConnKTLS(send, recv bool) error {
	rec := setting{name: "EnableConnKTLS", replay: func(d *Config) error { return d.EnableConnKTLS(send, recv) }}
	return c.set(rec, func(*C.struct_s2n_config, *C.go_s2n_error) C.int {
		c.s.connKTLSSend, c.s.connKTLSRecv = send, recv
		return 0
	})
}

// KTLSStatus is what a Conn's attempt to use kTLS gave (see
// [Config.EnableConnKTLS]). Send and Recv report whether the kernel now
// encrypts what the Conn writes and decrypts what it reads; SendErr and
// RecvErr why not, for a direction that was asked for and refused (nil for
// one not asked for).
type KTLSStatus struct {
	Send, Recv       bool
	SendErr, RecvErr error
}

// KTLS reports whether this Conn uses kTLS, and why not when its Config
// asked for it ([Config.EnableConnKTLS]). Before the handshake is complete,
// and when the Config did not ask, it is the zero KTLSStatus.
func (c *Conn) KTLS() KTLSStatus {
	if !c.handshakeDone.Load() || c.ktls == nil {
		return KTLSStatus{}
	}
	return *c.ktls
}

// enableKTLS tries kTLS as the Config asks, once the handshake is complete
// and before its state is freed; handshakeMu is held.
func (c *Conn) enableKTLS() {
	send, recv := c.config.s.connKTLSSend, c.config.s.connKTLSRecv
	if !send && !recv {
		return
	}
	var st KTLSStatus
	if c.fd == nil {
		err := usageError(nameInvalidArg, "kTLS needs s2n to read and write the socket itself, which Conn does over a *net.TCPConn; this Conn is over %T, through in-memory buffers", c.conn)
		if send {
			st.SendErr = err
		}
		if recv {
			st.RecvErr = err
		}
		c.ktls = &st
		return
	}
	if send {
		st.SendErr = c.c.EnableKTLSSend()
		st.Send = st.SendErr == nil
	}
	if recv {
		st.RecvErr = c.c.EnableKTLSRecv()
		st.Recv = st.RecvErr == nil
		if !st.Recv {
			c.c.SetRecvBuffering(true) // held off for the attempt (attachTransport)
		}
	}
	c.ktls = &st
}

// sendfileSource is a file io.Copy may hand to ReadFrom: an *os.File, or
// the wrapper os.File.WriteTo passes on (it embeds the *os.File).
type sendfileSource interface {
	syscall.Conn
	io.Seeker
	Stat() (fs.FileInfo, error)
}

// ReadFrom implements io.ReaderFrom, for io.Copy into the Conn. When kTLS
// sends for this Conn ([Conn.KTLS]) and r is a regular file (an *os.File),
// the kernel sends it from its current offset to its end (s2n_sendfile),
// with no copy through the process, and the file's offset is moved past
// what was sent. Any other r, or without kTLS sending, is copied with
// Write, as io.Copy would.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if st := c.KTLS(); st.Send {
		if f, ok := r.(sendfileSource); ok {
			if n, handled, err := c.sendfile(f); handled {
				return n, err
			}
		}
	}
	return io.Copy(connWriter{c}, r)
}

// connWriter is the Conn without ReadFrom, for io.Copy.
type connWriter struct{ c *Conn }

func (w connWriter) Write(b []byte) (int, error) { return w.c.Write(b) }

// sendfile sends the rest of the regular file f (see ReadFrom); handled is
// false, with nothing sent, when f is not a regular file.
func (c *Conn) sendfile(f sendfileSource) (total int64, handled bool, err error) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, false, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	remain := fi.Size() - off
	// The file's descriptor stays open while Control's function runs.
	cerr := rc.Control(func(fd uintptr) {
		for remain > 0 && err == nil {
			count := int(min(remain, 1<<30))
			var n int
			n, err = c.sendfileSome(int(fd), off+total, count)
			total += int64(n)
			remain -= int64(n)
			if n == 0 && err == nil { // the file ended early
				break
			}
		}
	})
	if _, serr := f.Seek(off+total, io.SeekStart); err == nil {
		err = serr
	}
	if err == nil {
		err = cerr
	}
	return total, true, err
}

// sendfileSome sends up to count bytes of the file fd from offset through
// kTLS, waiting for the socket as Write does; writeMu is held.
func (c *Conn) sendfileSome(fd int, offset int64, count int) (int, error) {
	step := func() (int, Blocked, error) {
		s := c.c.state()
		if err := s.drive(c.c, "Sendfile"); err != nil {
			return 0, NotBlocked, err
		}
		return s.sendfile(fd, offset, count)
	}
	n, blocked, err, ioErr := c.fd.w.do(step, BlockedOnWrite)
	if ioErr != nil {
		return n, ioErr
	}
	if err != nil && !isBlocked(err) {
		return n, c.wrapErr(err)
	}
	if err != nil && n == 0 {
		return 0, fmt.Errorf("s2n: Sendfile blocked on %v", blocked)
	}
	return n, nil
}
