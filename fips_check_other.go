//go:build cgo && !(s2n_fips && !s2n_openssl && !s2n_system)

package s2n

// fipsBuild is false in every build that does not promise the FIPS module.
const fipsBuild = false
