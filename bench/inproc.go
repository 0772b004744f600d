//go:build cgo

package bench

// The in-process comparison's C code (inproc.c, native/core.h) calls s2n-tls
// directly; the symbols come from the libs2n.a (or system s2n-tls) the
// binding links, chosen by the root package's build_*.go. It needs only
// s2n.h, which does not depend on the libcrypto: every build mode builds the
// s2n-tls source pinned in third_party/deps.lock, and its api/ directory is
// the one include path for all of them, so that the build tags of each mode
// are written only in the root package. TestS2NHeaderPin keeps the version
// below in step with deps.lock.

// #cgo CFLAGS: -I${SRCDIR}/../third_party/s2n-tls-sys-0.3.47/lib/api
// #include <stdlib.h>
// #include "inproc.h"
import "C"

import (
	"unsafe"

	"github.com/s2n-go/s2n"
)

// native is the native side of the in-process comparison: the standalone
// driver's C code (native/core.h) compiled into this package, on the s2n
// library the binding links and initialises. Every method is one cgo call
// for a whole batch of ops, so the crossing does not count.
type native struct {
	p *C.struct_inproc
}

// newNative builds the C configs for k and policy with the server's key
// operations done as mode says (the same modes as the binding side).
func newNative(k *keyPair, policy string, mode cbMode) (*native, error) {
	if err := s2n.Init(); err != nil {
		return nil, err
	}
	var cb C.int
	for i, m := range cbModes {
		if m == mode {
			cb = C.int(i)
		}
	}
	cpolicy := C.CString(policy)
	defer C.free(unsafe.Pointer(cpolicy))
	p := C.inproc_new((*C.uint8_t)(unsafe.Pointer(&k.certPEM[0])), C.uint32_t(len(k.certPEM)),
		(*C.uint8_t)(unsafe.Pointer(&k.keyPEM[0])), C.uint32_t(len(k.keyPEM)), cpolicy, cb)
	return &native{p: p}, nil
}

func (n *native) handshakes(count int) { C.inproc_handshakes(n.p, C.long(count)) }

func (n *native) transfers(count, size int) { C.inproc_transfers(n.p, C.long(count), C.size_t(size)) }

func (n *native) free() { C.inproc_free(n.p) }

// rawHandshakes does count handshakes like handshakes, but from Go, one cgo
// call per s2n call (pair set-up and free in one call each): the binding's
// crossing pattern without the binding's own code. Mode none only.
func (n *native) rawHandshakes(count int) {
	var blocked C.int
	for range count {
		C.inproc_pair_new(n.p)
		cdone, sdone := false, false
		for !(cdone && sdone) {
			if !cdone {
				cdone = C.inproc_negotiate(n.p, 0, &blocked) == 1
			}
			if !sdone {
				sdone = C.inproc_negotiate(n.p, 1, &blocked) == 1
			}
		}
		C.inproc_pair_free(n.p)
	}
}

// nativeTCP is the native side of BenchmarkLoopback: a connection pair over
// loopback TCP with a writer thread (inproc_tcp_* in inproc.c).
type nativeTCP struct {
	p *C.struct_inproc_tcp
}

// tcp connects a pair with n's configs (made with mode none) and handshakes.
func (n *native) tcp() *nativeTCP { return &nativeTCP{C.inproc_tcp_new(n.p)} }

func (t *nativeTCP) transfers(count, size int) {
	C.inproc_tcp_transfers(t.p, C.long(count), C.size_t(size))
}

func (t *nativeTCP) free() { C.inproc_tcp_free(t.p) }
