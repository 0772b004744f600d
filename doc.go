// Package s2n binds s2n-tls, AWS's C implementation of TLS, for Go.
//
// It has two levels. The low level mirrors the C API ([Config],
// [CertChainAndKey], [Connection], [AsyncPkeyOp]): most methods wrap one s2n
// call, named in their documentation, with the same semantics and errors
// (PARITY.md lists, for every function of s2n-tls's public headers, the Go
// API that wraps it or why none does). It covers most of that API:
// configuration and security policies, certificates, validation, CRLs and
// OCSP, the ClientHello callback and fingerprints, the handshake and I/O,
// record-layer controls, resumption (tickets, a ticket callback, a client
// session cache for [Conn], a server's TLS 1.2 session-ID cache), PSKs and
// early data, key logging, key update, renegotiation, serialization, kTLS,
// handshake events, ALPN, NPN and SNI, client authentication, blinding,
// connection facts, and the async private-key operations. The high level feels like crypto/tls: [Client], [Server],
// [Dial] and [Listen] return a [Conn] that implements net.Conn and works
// under net/http, [Config.AddCertChainWithSigner] takes a private key
// as a crypto.Signer (an HSM over PKCS#11, a KMS, a remote signer),
// [Config.SetGetCertificate] takes crypto/tls's certificate hook (so
// autocert's Manager.GetCertificate works unchanged), and [Config.Clone]
// copies a Config's settings.
//
// # Asynchronous private-key operations
//
// At the centre is s2n's async private-key API. A callback set with
// [Config.SetAsyncPkeyCallback] receives each signature or decryption of a
// handshake as an [AsyncPkeyOp], and can complete it synchronously (Perform
// then Apply inside the callback), asynchronously (return at once, Apply
// later from another goroutine; Negotiate reports BlockedOnApplicationInput
// meanwhile), or offload it (Input out to wherever the key lives,
// SetOutput with the answer, then Apply). [Config.AddCertChainWithSigner]
// does the offloaded form for a crypto.Signer on goroutines, and a [Conn]
// parks the handshake until the answer arrives: no OS thread waits for a key.
//
// # Threads and locking
//
// s2n does not synchronize calls on one connection. The binding does: every
// call into s2n on a Connection, and every Apply aimed at it, runs under the
// connection's lock. Calls made from inside the connection's own callback
// are recognised (the callback's goroutine is locked to its OS thread) and
// run without taking the lock again; Close there is deferred until the
// callback returns, and Negotiate, Send, Recv and Shutdown are refused. An
// AsyncPkeyOp has a lock of its own, so Perform can run on any goroutine
// while the connection is in use.
//
// Never block for long inside a callback: it holds an OS thread for as long
// as it runs. Complete slow operations asynchronously instead
// ([AsyncPkeyOp.PerformWithSigner] works on any goroutine).
//
// A [Conn] runs at most GOMAXPROCS handshakes inside s2n at a time; the
// others wait parked as goroutines, not threads. A key callback gives its
// slot back as it starts, so one that blocks only holds its own thread.
//
// s2n's errno is thread-local and a goroutine may change threads between two
// cgo calls, so each failing call reads the error inside the same C call
// into an [*Error], whose Type matches the sentinels ErrBlocked, ErrClosed,
// ErrIO, ErrAlert, ErrProto, ErrInternal and ErrUsage with errors.Is. An
// error raised by application code (a callback's error or panic, a
// signer's failure) is kept as the cause and found by errors.Is and
// errors.As.
//
// # Ownership and lifetimes
//
// Close (Free for an op) is the contract; each is idempotent and safe from
// any goroutine, and later calls on a closed object return a usage error.
// A Config and a CertChainAndKey are reference counted: a Connection keeps
// its Config alive and a Config keeps its chains alive, so closing them
// early is safe. An op belongs to the application and is freed once: by
// Free, or by its connection's Close (pending ops are freed before the
// connection), whichever comes first. GC cleanups free what was dropped
// without Close, as a safety net only. [Stats] reports live handles,
// pending ops and the C memory s2n holds.
//
// # Blinding
//
// After a failed handshake s2n asks for a 10-30 s delay before the
// connection is closed, to blunt timing attacks. With BuiltInBlinding (the
// C default) the failing call sleeps, pinning an OS thread: an easy denial
// of service for a Go server. [Conn] always uses SelfServiceBlinding and
// closes the transport with a timer when [Connection.Delay] has passed; use
// the same with the low-level API.
//
// # HTTP
//
// net/http speaks HTTP/2 by itself only over crypto/tls. [ServeHTTP] serves
// an http.Server on a [Listen] listener in HTTP/2 or HTTP/1.1, as each
// connection's ALPN chose, with Request.TLS filled and Shutdown waiting for
// HTTP/2 requests too; [Transport] is the matching http.RoundTripper. Both
// use golang.org/x/net/http2 for HTTP/2. The package's examples show both,
// each against a loopback peer.
//
// # Build modes
//
// The default build links the static s2n-tls and AWS-LC archives built by
// scripts/build-deps into third_party/dist/awslc. Build tags select other
// builds: s2n_openssl (system OpenSSL 3.0), s2n_fips (the AWS-LC-FIPS
// module), s2n_system (an installed s2n-tls found through pkg-config). A
// build without cgo fails with a message saying so. [Version] and
// [Libcrypto] report what a binary was built from and linked with.
package s2n
