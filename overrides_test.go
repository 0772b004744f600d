package s2n

import (
	"crypto/tls"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConnectionOverrides: a connection's own policy and ALPN list win over
// its Config's; SignatureKeyType names the server's key type.
func TestConnectionOverrides(t *testing.T) {
	ec, rs, _ := testKeys(t)
	server := newTestConfig(t, configOpts{policy: "test_all", chain: ec})
	require.NoError(t, server.SetProtocolPreferences([]string{"h2", "http/1.1"}))
	client := clientConfig(t, "default_tls13", ec, "h2")
	p := newPair(t, server, client)
	require.NoError(t, p.client.SetCipherPreferences(policyTLS12))
	require.NoError(t, p.client.SetProtocolPreferences([]string{"http/1.1"}))
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	require.Equal(t, TLS12, p.client.ProtocolVersion(), "the connection's policy, not the Config's TLS 1.3 one")
	require.Equal(t, "http/1.1", p.client.ApplicationProtocol())
	kt, err := p.client.SignatureKeyType(ModeServer)
	require.NoError(t, err)
	require.Equal(t, "ecdsa_secp256r1", kt)

	pr := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: rs}), clientConfig(t, "default_tls13", rs))
	s, c = pr.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	kt, err = pr.server.SignatureKeyType(ModeServer)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(kt, "rsa"), kt)

	conn, err := NewConnection(ModeClient)
	require.NoError(t, err)
	defer conn.Close()
	requireS2nError(t, conn.SetCipherPreferences("no-such-policy"), "S2N_ERR_INVALID_SECURITY_POLICY")
	requireS2nError(t, conn.SetCipherPreferences(""), nameInvalidArg, ErrUsage)
	requireS2nError(t, conn.SetProtocolPreferences([]string{""}), nameInvalidArg, ErrUsage)
}

// TestConfigGetters: the Config reports its client authentication and the
// groups its policy offers.
func TestConfigGetters(t *testing.T) {
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", clientAuth: ClientAuthOptional})
	got, err := cfg.ClientAuthType()
	require.NoError(t, err)
	require.Equal(t, ClientAuthOptional, got)
	groups, err := cfg.SupportedGroups()
	require.NoError(t, err)
	require.Contains(t, groups, tls.CurveP256)
	tls12 := newTestConfig(t, configOpts{policy: "test_all_ecdsa"})
	groups12, err := tls12.SupportedGroups()
	require.NoError(t, err)
	require.NotEqual(t, groups, groups12, "each policy has its list")
	requireS2nError(t, cfg.SetAlertBehavior(AlertBehavior(7)), nameInvalidArg, ErrUsage)
	require.NoError(t, cfg.SetAlertBehavior(AlertIgnoreWarnings))
}

// TestNewMinimalConfigHandshake: a minimal Config has no system trust store, so a
// server only its own trust store names is verified; its clone is minimal
// too.
func TestNewMinimalConfigHandshake(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg, err := NewMinimalConfig()
	require.NoError(t, err)
	defer cfg.Close()
	require.NoError(t, cfg.SetCipherPreferences("default_tls13"))
	require.NoError(t, cfg.AddPEMToTrustStore(ec.certPEM))
	clone, err := cfg.Clone()
	require.NoError(t, err)
	defer clone.Close()
	require.True(t, clone.s.minimal)
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), clone)
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	// A Config from NewConfig refuses LoadSystemCerts (it has them); a
	// minimal one takes them.
	full := newTestConfig(t, configOpts{})
	require.Error(t, full.LoadSystemCerts())
	require.NoError(t, cfg.LoadSystemCerts())
}

// TestMaxFragmentLength: a client asking for 512-byte records gets them
// from a server that accepts the extension, and not from one that ignores
// it (the default).
func TestMaxFragmentLength(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, accept := range []bool{false, true} {
		server := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
		if accept {
			require.NoError(t, server.AcceptMaxFragmentLength())
		}
		addr, done := serveResults(t, server, 1, func(c *Conn) error {
			_, err := c.Write(make([]byte, 8192))
			return err
		})
		client := clientConfig(t, "default_tls13", ec)
		require.NoError(t, client.SendMaxFragmentLength(MaxFragmentLength512))
		raw, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		// The records are measured on the wire: a Read may return several.
		rec := &recordingConn{Conn: raw}
		c := Client(rec, client, "localhost")
		got := 0
		buf := make([]byte, 16384)
		for got < 8192 {
			n, err := c.Read(buf)
			require.NoError(t, err)
			got += n
		}
		require.NoError(t, <-done)
		require.NoError(t, c.Close())
		// A TLS 1.3 record carries at most 256 bytes more than its
		// plaintext fragment.
		if accept {
			require.LessOrEqual(t, rec.maxRead(), 512+256, "records of at most 512 bytes of plaintext")
		} else {
			require.Greater(t, rec.maxRead(), 512+256, "the server ignores the extension: larger records")
		}
	}
	cfg := newTestConfig(t, configOpts{})
	requireS2nError(t, cfg.SendMaxFragmentLength(MaxFragmentLength(9)), nameInvalidArg, ErrUsage)
}

// TestDHParams: a TLS 1.2 DHE suite needs DH parameters: openssl's client,
// offering DHE only, is refused without them and served with them.
func TestDHParams(t *testing.T) {
	_, rs, _ := testKeys(t)
	pem, err := exec.Command("openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048").Output()
	require.NoError(t, err, "openssl (Debian package openssl) makes the DH parameters")
	for _, withParams := range []bool{false, true} {
		server := signerConfig(t, "test_all", rs, &faultySigner{key: rs.signer})
		if withParams {
			require.NoError(t, server.AddDHParams(pem))
		}
		addr, done := serveResults(t, server, 1, func(c *Conn) error { return c.Handshake() })
		out, _ := exec.Command("openssl", "s_client", "-connect", addr, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256",
			"-servername", "localhost").CombinedOutput()
		serr := <-done
		if withParams {
			require.NoError(t, serr)
			require.Contains(t, string(out), "DHE-RSA-AES128-GCM-SHA256")
		} else {
			require.Error(t, serr, "no DHE suite without parameters")
		}
	}
	cfg := newTestConfig(t, configOpts{})
	requireS2nError(t, cfg.AddDHParams(nil), nameInvalidArg, ErrUsage)
	require.Error(t, cfg.AddDHParams([]byte("-----BEGIN DH PARAMETERS-----\nAAAA\n-----END DH PARAMETERS-----\n")))
}

// TestNPN: openssl's client offering only NPN gets the protocol from a
// server with NPN on, and none from one without.
func TestNPN(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, npn := range []bool{false, true} {
		server := signerConfig(t, "default", ec, &faultySigner{key: ec.signer}, "h2", "http/1.1")
		require.NoError(t, server.SetNPN(npn))
		proto := make(chan string, 1)
		addr, done := serveResults(t, server, 1, func(c *Conn) error {
			err := c.Handshake()
			proto <- c.ConnectionState().NegotiatedProtocol
			return err
		})
		out, err := exec.Command("openssl", "s_client", "-connect", addr, "-tls1_2", "-nextprotoneg", "http/1.1",
			"-servername", "localhost").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.NoError(t, <-done)
		if npn {
			require.Equal(t, "http/1.1", <-proto)
			require.Contains(t, string(out), "Next protocol: (1) http/1.1")
		} else {
			require.Equal(t, "", <-proto)
			require.NotContains(t, string(out), "Next protocol: (1)")
		}
	}
}
