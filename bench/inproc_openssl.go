//go:build cgo && s2n_openssl && !s2n_fips && !s2n_system

package bench

// The in-process comparison's C code (inproc.c) needs s2n.h from the same
// build mode as the binding; the symbols come from the binding's libs2n.a.

// #cgo CFLAGS: -I${SRCDIR}/../third_party/dist/openssl/include
import "C"
