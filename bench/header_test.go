package bench

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestS2NHeaderPin: inproc.go takes s2n.h from the s2n-tls source that
// third_party/deps.lock pins; after a version bump, an include path left at
// the old version would compile against a stale header still on disk.
func TestS2NHeaderPin(t *testing.T) {
	lock, err := os.Open("../third_party/deps.lock")
	require.NoError(t, err)
	defer lock.Close()
	version := ""
	sc := bufio.NewScanner(lock)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "s2n-tls-sys" {
			version = f[1]
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, version, "no s2n-tls-sys line in deps.lock")
	src, err := os.ReadFile("inproc.go")
	require.NoError(t, err)
	want := "#cgo CFLAGS: -I${SRCDIR}/../third_party/s2n-tls-sys-" + version + "/lib/api\n"
	require.Contains(t, string(src), want, "inproc.go's include path and deps.lock (s2n-tls-sys %s) disagree", version)
}
