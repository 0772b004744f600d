package s2n

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConnectionFactsTLS12AgainstGo: a binding client that supports TLS 1.3
// against a crypto/tls server capped at TLS 1.2: the versions each side
// supports, the handshake s2n ran, its signature scheme and which policies
// allow it.
func TestConnectionFactsTLS12AgainstGo(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := clientConfig(t, "default_tls13", ec)
	conn, err := NewConnection(ModeClient)
	require.NoError(t, err)
	defer conn.Close()
	require.False(t, conn.HandshakeComplete(), "before the handshake")
	mode, err := conn.Mode()
	require.NoError(t, err)
	require.Equal(t, ModeClient, mode)

	r := goPeerHandshake(t, ModeClient, cfg, &tls.Config{Certificates: []tls.Certificate{goCert(ec)}, MaxVersion: tls.VersionTLS12})
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	c := r.conn
	require.True(t, c.HandshakeComplete())
	require.Equal(t, TLS12, c.ProtocolVersion())
	v, err := c.ClientProtocolVersion()
	require.NoError(t, err)
	require.Equal(t, TLS13, v, "the client's own highest version")
	v, err = c.ServerProtocolVersion()
	require.NoError(t, err)
	require.Equal(t, TLS12, v, "the server's, as its hello showed")
	require.Equal(t, "NEGOTIATED|FULL_HANDSHAKE|TLS12_PERFECT_FORWARD_SECRECY", c.HandshakeTypeName())
	require.Equal(t, "APPLICATION_DATA", c.LastMessageName())
	scheme, err := c.SignatureScheme()
	require.NoError(t, err)
	require.Equal(t, "legacy_ecdsa_sha256", scheme, "crypto/tls signed with %v", r.goState)

	ok, err := c.IsValidForCipherPreferences("default_tls13")
	require.NoError(t, err)
	require.True(t, ok, "the policy the handshake ran with")
	ok, err = c.IsValidForCipherPreferences("test_all_rsa_kex")
	require.NoError(t, err)
	require.False(t, ok, "a policy of RSA key exchange only")
	_, err = c.IsValidForCipherPreferences("no such policy")
	requireS2nError(t, err, "S2N_ERR_INVALID_SECURITY_POLICY", ErrUsage)
	_, err = c.CertificateMatch()
	requireS2nError(t, err, "S2N_ERR_CLIENT_MODE", ErrUsage)
	_, err = c.Alert()
	requireS2nError(t, err, "S2N_ERR_NO_ALERT", ErrUsage)
}

// TestConnectionFactsTLS13: a TLS 1.3 pair: both sides name the same
// handshake and scheme, the server reports how its certificate matched the
// client's SNI, and one side's wire bytes out are the other's in.
func TestConnectionFactsTLS13(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, tc := range []struct {
		sni  string
		want CertSNIMatch
	}{{"localhost", SNIExactMatch}, {"other.example", SNINoMatch}, {"", SNINone}} {
		server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
		client := clientConfig(t, "default_tls13", ec)
		require.NoError(t, client.DisableX509Verification()) // the names do not match for two cases
		p := &pair{fds: socketpair(t)}
		p.server = newTestConn(t, ModeServer, server, p.fds[0])
		p.client = newTestConn(t, ModeClient, client, p.fds[1])
		t.Cleanup(func() { p.server.Close(); p.client.Close() })
		if tc.sni != "" {
			require.NoError(t, p.client.SetServerName(tc.sni))
		}
		p.handshake(t)
		p.exchange(t)
		m, err := p.server.CertificateMatch()
		require.NoError(t, err)
		require.Equal(t, tc.want, m, "SNI %q", tc.sni)

		for _, c := range []*Connection{p.server, p.client} {
			require.Equal(t, "NEGOTIATED|FULL_HANDSHAKE|MIDDLEBOX_COMPAT", c.HandshakeTypeName())
			scheme, err := c.SignatureScheme()
			require.NoError(t, err)
			require.Equal(t, "ecdsa_secp256r1_sha256", scheme)
		}
		require.NotZero(t, p.client.WireBytesOut())
		require.Equal(t, p.client.WireBytesOut(), p.server.WireBytesIn(), "client to server")
		require.Equal(t, p.server.WireBytesOut(), p.client.WireBytesIn(), "server to client")
		v, err := p.server.ServerProtocolVersion()
		require.NoError(t, err)
		require.Equal(t, TLS13, v)
	}
}

// byteCountingConn counts the bytes read from and written to a net.Conn.
type byteCountingConn struct {
	net.Conn
	in, out atomic.Uint64
}

func (c *byteCountingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(uint64(n))
	return n, err
}

func (c *byteCountingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(uint64(n))
	return n, err
}

// TestWireBytesMatchTransport: a Conn's wire byte counts are what its
// net.Conn carried, against a crypto/tls server, once everything it sent
// (up to its close_notify) has been read.
func TestWireBytesMatchTransport(t *testing.T) {
	ec, _, _ := testKeys(t)
	addr, results := serveGoTLS(t, &tls.Config{Certificates: []tls.Certificate{goCert(ec)}}, 1, func(c *tls.Conn) error {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		_, err := c.Write(buf)
		return err
	})
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	cc := &byteCountingConn{Conn: raw}
	c := Client(cc, clientConfig(t, "default_tls13", ec), "localhost")
	defer c.Close()
	_, err = c.Write([]byte("hello"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, make([]byte, 5))
	require.NoError(t, err)
	require.NoError(t, await(t, results, "crypto/tls server"))
	// The server's close_notify, read to the end.
	n, err := c.Read(make([]byte, 1))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, cc.out.Load(), c.Connection().WireBytesOut(), "written")
	require.Equal(t, cc.in.Load(), c.Connection().WireBytesIn(), "read")
}

// TestAlertFromGoServer: a TLS 1.2-only binding client against a crypto/tls
// server that requires TLS 1.3, which answers with a protocol_version
// alert (70).
func TestAlertFromGoServer(t *testing.T) {
	ec, _, _ := testKeys(t)
	r := goPeerHandshake(t, ModeClient, clientConfig(t, policyTLS12, ec),
		&tls.Config{Certificates: []tls.Certificate{goCert(ec)}, MinVersion: tls.VersionTLS13})
	require.Error(t, r.goErr)
	require.ErrorIs(t, r.err, ErrAlert)
	alert, err := r.conn.Alert()
	require.NoError(t, err)
	require.Equal(t, 70, alert, "protocol_version")
	require.False(t, r.conn.HandshakeComplete())
}

// TestKEMGroupNameAndCurve: KEMGroupName names only a hybrid post-quantum
// group and Curve only a classical ECDHE one, each agreeing with
// KeyExchangeGroup and with the group crypto/tls saw.
func TestKEMGroupNameAndCurve(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, tc := range []struct {
		policy string
		key    *testKey
		curves []tls.CurveID // offered by crypto/tls; nil: its default
		suites []uint16      // offered by crypto/tls (TLS 1.2); nil: its default
	}{
		{"default_tls13", ec, []tls.CurveID{tls.CurveP384}, nil},
		{"default_tls13", ec, []tls.CurveID{tls.X25519}, nil},
		{policyTLS12, ec, []tls.CurveID{tls.CurveP256}, nil},
		{"test_all_rsa_kex", rs, nil, []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
		{"default_pq", ec, nil, nil},
	} {
		goCfg := goTLSClientConfig(tc.key)
		goCfg.CurvePreferences = tc.curves
		goCfg.CipherSuites = tc.suites
		cfg := newTestConfig(t, configOpts{policy: tc.policy, chain: tc.key})
		r := goPeerHandshake(t, ModeServer, cfg, goCfg)
		require.NoError(t, r.err)
		require.NoError(t, r.goErr)
		group := r.conn.KeyExchangeGroup()
		kem, curve := r.conn.KEMGroupName(), r.conn.Curve() //nolint:staticcheck // Curve is deprecated, tested here
		t.Logf("%s, crypto/tls offering %v: group %q, KEM group %q, curve %q", tc.policy, tc.curves, group, kem, curve)
		if r.goState.CurveID == 0 {
			// RSA key exchange: no group at all.
			require.Empty(t, group)
			require.Empty(t, kem)
			require.Empty(t, curve)
			continue
		}
		require.Equal(t, s2nGroupToGo[group], r.goState.CurveID, "crypto/tls saw the group s2n names")
		if strings.Contains(group, "MLKEM") {
			require.Equal(t, group, kem, "a hybrid group is a KEM group")
			require.Empty(t, curve, "Curve names no hybrid group")
		} else {
			require.Empty(t, kem, "a classical group is no KEM group")
			require.Equal(t, group, curve)
		}
	}

	// Before the handshake, and once closed: nothing.
	c, err := NewConnection(ModeServer)
	require.NoError(t, err)
	require.Empty(t, c.KEMGroupName())
	require.Empty(t, c.Curve()) //nolint:staticcheck // Curve is deprecated, tested here
	require.NoError(t, c.Close())
	require.Empty(t, c.KEMGroupName())
	require.Empty(t, c.Curve()) //nolint:staticcheck // Curve is deprecated, tested here
}
