//go:build cgo && s2n_fips && !s2n_openssl && !s2n_system

package s2n

// fipsBuild marks the build that promises the FIPS module (build_fips.go):
// Init refuses to start it outside FIPS mode (see checkFIPSBuild).
const fipsBuild = true
