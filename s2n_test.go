package s2n

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// cleanupFinalHelperEnv makes TestMain run cleanupFinalHelper instead of
// the tests: CleanupFinal tears s2n down for the whole process.
const cleanupFinalHelperEnv = "S2N_GO_CLEANUP_FINAL_HELPER"

// TestCleanupFinal runs cleanupFinalHelper in the test binary re-executed:
// CleanupFinal refuses while a Config is open, then tears s2n down, and
// everything after fails with S2N_GO_ERR_FINALIZED; the process then exits
// cleanly, s2n's own cleanup at exit included.
func TestCleanupFinal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cleanupFinalHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "helper:\n%s", out)
	require.Equal(t, "refused while a Config is open\ntorn down\nafterwards: S2N_GO_ERR_FINALIZED\n", string(out))
}

// cleanupFinalHelper is TestCleanupFinal's child process.
func cleanupFinalHelper() int {
	if err := runCleanupFinalHelper(); err != nil {
		fmt.Println("helper:", err)
		return 1
	}
	return 0
}

func runCleanupFinalHelper() error {
	cfg, err := NewConfig()
	if err != nil {
		return err
	}
	var se *Error
	if err := CleanupFinal(); !errors.As(err, &se) || se.Name != nameInUse || !errors.Is(err, ErrUsage) {
		return fmt.Errorf("CleanupFinal with a Config open: %v, want %s", err, nameInUse)
	}
	fmt.Println("refused while a Config is open")
	again, err := NewConfig()
	if err != nil {
		return fmt.Errorf("a refused CleanupFinal changed nothing: NewConfig: %v", err)
	}
	again.Close()
	cfg.Close()
	if err := CleanupFinal(); err != nil {
		return fmt.Errorf("CleanupFinal: %v", err)
	}
	if n := Stats().CAllocations; n != 0 {
		return fmt.Errorf("%d allocations of s2n left after CleanupFinal", n)
	}
	fmt.Println("torn down")
	for what, f := range map[string]func() error{
		"Init":          Init,
		"CleanupFinal":  CleanupFinal,
		"NewConfig":     func() error { _, err := NewConfig(); return err },
		"NewConnection": func() error { _, err := NewConnection(ModeClient); return err },
		"NewCertChainAndKey": func() error {
			_, err := NewCertChainAndKey([]byte("x"), []byte("y"))
			return err
		},
	} {
		if err := f(); !errors.As(err, &se) || se.Name != nameFinalized || !errors.Is(err, ErrUsage) {
			return fmt.Errorf("%s after CleanupFinal: %v, want %s", what, err, nameFinalized)
		}
	}
	fmt.Println("afterwards: " + nameFinalized)
	return nil
}
