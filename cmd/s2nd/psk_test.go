package main

import (
	"encoding/hex"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// s2nd --psk against `openssl s_client -psk`: the handshake uses the PSK
// (s_client reports a PSK handshake as reused), and a wrong secret fails.
func TestPSKAgainstOpenSSLClient(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl's s_client is this test's peer")
	secret := hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	d := startS2nd(t, "-e", "--psk", "svc,"+secret+",SHA256", "--max-blinding", "1s")
	addr := strings.Replace(d.addr, "localhost", "127.0.0.1", 1)

	cmd := exec.Command(openssl, "s_client", "-connect", addr, "-tls1_3", "-psk", secret, "-psk_identity", "svc")
	cmd.Stdin = strings.NewReader("ping\n")
	out, _ := cmd.CombinedOutput() // s_client's status says nothing here
	require.Contains(t, string(out), "Reused, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256", string(out))

	bad := strings.Repeat("ab", 32)
	cmd = exec.Command(openssl, "s_client", "-connect", addr, "-tls1_3", "-psk", bad, "-psk_identity", "svc")
	cmd.Stdin = strings.NewReader("ping\n")
	out, _ = cmd.CombinedOutput()
	require.Contains(t, string(out), "Cipher is (NONE)", string(out))
	d.stderr.WaitFor(t, regexp.MustCompile(`S2N_ERR_BAD_PSK_BINDER`), d.exited)
}
