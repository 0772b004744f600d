//go:build cgo && !s2n_openssl && !s2n_fips && !s2n_system && !s2n_asan

package s2n

// Default build mode: the static libs2n.a and AWS-LC libcrypto.a that
// scripts/build-deps produced for S2N_LIBCRYPTO=awslc.

// #cgo CFLAGS: -I${SRCDIR}/third_party/dist/awslc/include
// #cgo LDFLAGS: ${SRCDIR}/third_party/dist/awslc/lib/libs2n.a ${SRCDIR}/third_party/dist/awslc/lib/libcrypto.a -lpthread -ldl -lm
import "C"

// buildMode names this build for code and tests that differ by mode; the
// build_*.go files are the one place each mode's tag expression is written.
const buildMode = "awslc"
