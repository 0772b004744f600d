//go:build cgo && s2n_openssl && !s2n_fips && !s2n_system

package s2n

// Build tag s2n_openssl: s2n-tls on the system OpenSSL 3.0, as built by
// S2N_LIBCRYPTO=openssl scripts/build-deps.

// #cgo CFLAGS: -I${SRCDIR}/third_party/dist/openssl/include
// #cgo LDFLAGS: ${SRCDIR}/third_party/dist/openssl/lib/libs2n.a ${SRCDIR}/third_party/dist/openssl/lib/libcrypto.a -lpthread -ldl -lm
import "C"

// buildMode: see build_awslc.go.
const buildMode = "openssl"
