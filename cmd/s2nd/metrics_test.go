package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/stretchr/testify/require"
)

var metricsAt = regexp.MustCompile(`^s2nd: metrics on (http://127\.0\.0\.1:\d+/metrics)$`)

func getMetrics(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// TestMetrics: with --metrics, /metrics counts a completed handshake by
// what it negotiated, and a failed one by the alert the client sent.
func TestMetrics(t *testing.T) {
	// --parallelize: the sequential default exits after the failed handshake.
	d := startS2nd(t, "-e", "--parallelize", "--metrics", "127.0.0.1:0")
	url := d.stderr.WaitFor(t, metricsAt, d.exited)[1]
	handshakes := regexp.MustCompile(`(?m)^s2n_handshakes_total\{cipher="TLS_[A-Z0-9_]+",group="[a-z0-9A-Z]+",handshake_type="NEGOTIATED\|FULL_HANDSHAKE\|MIDDLEBOX_COMPAT",resumed="false",side="server",signature_scheme="ecdsa_secp256r1_sha256",version="TLS1.3"\} 1$`)
	failures := regexp.MustCompile(`(?m)^s2n_handshake_failures_total\{alert="42",error="S2N_ERR_[A-Z_]+",error_type="alert",side="server"\} 1$`)
	before := getMetrics(t, url)
	require.NotRegexp(t, handshakes, before)
	require.Contains(t, before, "go_goroutines ", "the Go runtime's metrics too")

	c, err := s2n.Dial("tcp", d.addr, d.s2nClient(t, "default_tls13"))
	require.NoError(t, err)
	require.Equal(t, "ping", exchange(t, c, "ping"))
	require.NoError(t, c.Close())
	d.summary(t, 1)

	// crypto/tls without s2nd's certificate in its roots: bad_certificate.
	_, err = tls.Dial("tcp", d.addr, &tls.Config{ServerName: "localhost"})
	require.Error(t, err)
	d.stderr.WaitFor(t, regexp.MustCompile(`^s2nd: #2 .* handshake failed: `), d.exited)

	after := getMetrics(t, url)
	require.Regexp(t, handshakes, after)
	require.Regexp(t, failures, after)
	require.Regexp(t, `(?m)^s2n_handshake_duration_seconds_count\{result="ok",side="server"\} 1$`, after)
	require.Regexp(t, `(?m)^s2n_handshake_duration_seconds_count\{result="error",side="server"\} 1$`, after)
}
