//go:build s2n_cgocount

package s2n

// cgoCounting: built with -tags s2n_cgocount, the trampolines count the
// C-to-Go callbacks they run (RuntimeStats.Callbacks), so benchmarks report
// crossings counted, not guessed. Go-to-C calls are counted by the runtime
// itself (runtime.NumCgoCall).
const cgoCounting = true
