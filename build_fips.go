//go:build cgo && s2n_fips && !s2n_openssl && !s2n_system

package s2n

// Build tag s2n_fips: s2n-tls on the AWS-LC-FIPS module, as built by
// S2N_LIBCRYPTO=awslc-fips scripts/build-deps.

// #cgo CFLAGS: -I${SRCDIR}/third_party/dist/awslc-fips/include
// #cgo LDFLAGS: ${SRCDIR}/third_party/dist/awslc-fips/lib/libs2n.a ${SRCDIR}/third_party/dist/awslc-fips/lib/libcrypto.a -lpthread -ldl -lm
import "C"

// buildMode: see build_awslc.go. Init refuses to start this build outside
// FIPS mode (checkFIPSBuild).
const buildMode = "awslc-fips"
