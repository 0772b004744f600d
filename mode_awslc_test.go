//go:build cgo && !s2n_openssl && !s2n_fips && !s2n_system

package s2n

// testLibcryptoMode names the build mode under test (build_awslc.go), so that
// tests that run in every mode pick that mode's expectations.
const testLibcryptoMode = "awslc"
