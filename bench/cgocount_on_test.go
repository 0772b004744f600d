//go:build s2n_cgocount

package bench

// countingCallbacks: the binding counts its C-to-Go callbacks
// (s2n.Stats().Callbacks); benchmarks report them as c2go/op.
const countingCallbacks = true
