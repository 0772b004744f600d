package s2n

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuildWithoutCgo builds the package with CGO_ENABLED=0: the only error
// must be the one that says cgo is required (build_nocgo.go), not a list of
// undefined names from files that need the cgo ones.
func TestBuildWithoutCgo(t *testing.T) {
	cmd := exec.Command("go", "build", "-o", "/dev/null", ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "a build without cgo must fail")
	var errs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "#") {
			errs = append(errs, line)
		}
	}
	require.Len(t, errs, 1, "one error, the cgo one:\n%s", out)
	require.Contains(t, errs[0], "package_s2n_requires_cgo__set_CGO_ENABLED_1_and_a_C_compiler")
}
