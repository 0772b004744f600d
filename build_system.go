//go:build cgo && s2n_system

package s2n

// Build tag s2n_system: an s2n-tls installed on the system, found through
// pkg-config under the name "s2n" (scripts/build-deps writes such an s2n.pc
// into every prefix it builds; point PKG_CONFIG_PATH at its lib/pkgconfig).

// #cgo pkg-config: s2n
import "C"

// buildMode: see build_awslc.go. The tests have no expectations for an
// unknown system s2n-tls: those that need them fail and say so.
const buildMode = "system"
