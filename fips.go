package s2n

// #include "fips.h"
import "C"

// FIPSMode reports whether s2n-tls runs in FIPS mode (s2n_get_fips_mode): s2n
// enters it at Init when its libcrypto is a FIPS module in FIPS mode. Of the
// bundled builds only the one with tag s2n_fips (AWS-LC-FIPS) does, and Init
// fails there if the module is not in FIPS mode.
//
// FIPS mode is not compliance. In FIPS mode s2n derives keys with the
// module's TLS PRF and HKDF instead of its own, checks peers' ECDH keys with
// the module's FIPS checks, signs with digest-and-sign, and starts every new
// [Config] on the "default_fips" security policy. It does not stop a Config
// from selecting any other policy: with "default" or "default_tls13" it
// negotiates ChaCha20-Poly1305 or X25519 as any other build does. Only the
// policy restricts the algorithms: use one that s2n marks with its FIPS 140-3
// rule, among them "default_fips", "20230317", "20230317_pq", "20240416",
// "20240502" and "20240331". A "FIPS" in a policy's name does not mean s2n
// checked it (most ELB "...-FIPS-..." policies carry no such rule).
//
// FIPSMode may be called from any goroutine; it initialises the library.
func FIPSMode() (bool, error) {
	if err := Init(); err != nil {
		return false, err
	}
	return fipsMode()
}

// fipsMode asks s2n without going through Init, so that Init itself can use it.
func fipsMode() (bool, error) {
	var e C.go_s2n_error
	rc := C.go_s2n_fips_get_mode(&e)
	if rc < 0 {
		return false, newError(&e, nil)
	}
	return rc == 1, nil
}

// fipsBuild marks the build that promises the FIPS module (build_fips.go).
const fipsBuild = buildMode == "awslc-fips"

// nameNotFIPS names the error of a FIPS build whose module is not in FIPS
// mode.
const nameNotFIPS = "S2N_GO_ERR_NOT_IN_FIPS_MODE"

// checkFIPSBuild makes a FIPS build (tag s2n_fips) refuse to start unless
// s2n really runs in FIPS mode, so that a wrongly linked libcrypto fails at
// Init instead of quietly serving traffic without the module. Other builds
// pass. It must run after s2n_init and must not call Init.
func checkFIPSBuild() error {
	if !fipsBuild {
		return nil
	}
	on, err := fipsMode()
	if err != nil {
		return err
	}
	return fipsBuildError(fipsBuild, on, Libcrypto())
}

// fipsBuildError is the decision of checkFIPSBuild, apart from the C calls
// so that a test can drive the failing case in any build.
func fipsBuildError(build, on bool, libcrypto string) error {
	if !build || on {
		return nil
	}
	return usageError(nameNotFIPS, "built with tag s2n_fips, but s2n-tls is not in FIPS mode (libcrypto %s): "+
		"link the AWS-LC-FIPS module built by S2N_LIBCRYPTO=awslc-fips scripts/build-deps", libcrypto)
}

// libcryptoFIPSMode is what the libcrypto itself reports (FIPS_mode on
// AWS-LC), for tests that cross-check s2n's answer.
func libcryptoFIPSMode() bool { return C.go_s2n_fips_libcrypto_mode() == 1 }
