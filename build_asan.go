//go:build cgo && s2n_asan && !s2n_openssl && !s2n_fips && !s2n_system

package s2n

// Build tag s2n_asan: s2n-tls and AWS-LC compiled with AddressSanitizer, as
// built by scripts/asan into third_party/dist/awslc-asan. Use it only with
// `go test -asan` (scripts/asan does both): the archives reference libasan.

// #cgo CFLAGS: -I${SRCDIR}/third_party/dist/awslc-asan/include
// #cgo LDFLAGS: ${SRCDIR}/third_party/dist/awslc-asan/lib/libs2n.a ${SRCDIR}/third_party/dist/awslc-asan/lib/libcrypto.a -lpthread -ldl -lm
import "C"

// buildMode: AWS-LC, compiled with AddressSanitizer.
const buildMode = "awslc"
