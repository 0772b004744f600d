//go:build !s2n_cgocount

package s2n

// cgoCounting is off: see cgocount.go. The counting code compiles away.
const cgoCounting = false
