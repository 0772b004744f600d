// Package bench holds the side-by-side benchmarks of the s2n binding against
// native s2n-tls. The benchmarks are in bench_test.go; the native C driver
// that does the same work is bench/native/s2nbench.c (its work is in
// native/core.h), built by scripts/build-bench against the same libs2n.a and
// libcrypto.a, and printing the same Go benchmark format; run.sh -F native
// runs both interleaved, and bench/report compares them.
//
// BenchmarkInProcess compiles native/core.h into this package (inproc.c, on
// the libs2n.a the binding links) and alternates native and binding op by op
// in one process: on a busy machine its ratios are the ones to trust.
//
// # Transport
//
// Client and server run in one goroutine (one thread for the native driver)
// over a non-blocking AF_UNIX socketpair handed to s2n with SetFd: the
// binding exposes no custom I/O callbacks, so both sides use the socketpair
// for a fair ratio. The native driver can also run over in-memory buffers
// (s2nbench -x mem) to show what the socketpair's system calls cost.
//
// # Certificates
//
// S2N_BENCH_CERTS names a directory with ecdsa.{crt,key} (P-256) and
// rsa.{crt,key} (RSA-2048), as written by gencerts.sh, so that both sides use
// the same keys. Without it the benchmarks generate their own with Go's crypto.
package bench
