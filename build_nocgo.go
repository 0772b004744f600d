//go:build !cgo

package s2n

// Package s2n binds the s2n-tls C library and needs cgo. This declaration
// makes a build without cgo fail with a message that says so.
var _ = package_s2n_requires_cgo__set_CGO_ENABLED_1_and_a_C_compiler
