package s2n

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the suite, then fails it if anything the binding owns is
// still alive: cgo handles, async ops, goroutines.
func TestMain(m *testing.M) {
	if os.Getenv(serializeHelperEnv) != "" {
		// The test binary re-executed as the process a serialized
		// connection is handed to (serialize_test.go).
		os.Exit(serializeHelper())
	}
	if os.Getenv(cleanupFinalHelperEnv) != "" {
		os.Exit(cleanupFinalHelper()) // s2n_test.go
	}
	code := m.Run()
	if code == 0 {
		if err := leakCheck(); err != nil {
			fmt.Fprintln(os.Stderr, "leak gate:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func leakCheck() error {
	// Conns closed after a failed handshake are freed once their blinding
	// delay (capped by the tests' configs) has passed.
	for deadline := time.Now().Add(40 * time.Second); Stats().Blinding > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	// Pebble's validation authority (TestGetCertificateAutocert) runs a
	// task loop that it has no way to stop.
	if err := goleak.Find(goleak.IgnoreTopFunction("github.com/letsencrypt/pebble/v2/va.VAImpl.processTasks")); err != nil {
		return err
	}
	// Strict: every test closes what it opens, so nothing may be waiting for
	// a GC cleanup (tests of the cleanup path collect their own garbage).
	if st := Stats(); st.Handles != 0 || st.PendingOps != 0 || st.Blinding != 0 {
		return fmt.Errorf("live handles %d, pending ops %d, blinding %d after the suite", st.Handles, st.PendingOps, st.Blinding)
	}
	return nil
}
