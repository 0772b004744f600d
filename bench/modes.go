package bench

// What the benchmarks (test files) and the in-process native side
// (inproc.go, which cgo keeps out of test files) share.

// keyPair is a certificate chain and its key, in PEM.
type keyPair struct {
	name            string
	certPEM, keyPEM []byte
}

// cbMode is how the server's private-key operation is done; the names are
// the native driver's.
type cbMode string

const (
	cbNone      cbMode = "none"      // no callback: s2n uses the key itself
	cbSync      cbMode = "sync"      // Perform and Apply inside the callback
	cbAsync     cbMode = "async"     // queued; the driver completes it after Negotiate returns
	cbGoroutine cbMode = "offthread" // a goroutine per op completes it; the driver waits
	cbReuse     cbMode = "reuse"     // no callback, one pair of connections wiped between handshakes
)

var cbModes = []cbMode{cbNone, cbSync, cbAsync, cbGoroutine, cbReuse}
