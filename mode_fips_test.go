//go:build cgo && s2n_fips && !s2n_openssl && !s2n_system

package s2n

// testLibcryptoMode names the build mode under test (build_fips.go).
const testLibcryptoMode = "awslc-fips"
