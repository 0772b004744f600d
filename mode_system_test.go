//go:build cgo && s2n_system

package s2n

// testLibcryptoMode names the build mode under test (build_system.go). The
// suite has no expectations for an unknown system s2n-tls: tests that need
// them fail and say so.
const testLibcryptoMode = "system"
