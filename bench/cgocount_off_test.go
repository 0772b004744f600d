//go:build !s2n_cgocount

package bench

// countingCallbacks is off: build with -tags s2n_cgocount to count.
const countingCallbacks = false
