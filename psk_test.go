package s2n

import (
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testPSKSecret = []byte("0123456789abcdef0123456789abcdef")

// pskConfig is a TLS 1.3 Config with no certificate, no trust store and
// the given PSK identities (all with secret).
func pskConfig(t testing.TB, secret []byte, identities ...string) *Config {
	t.Helper()
	cfg, err := NewConfig()
	require.NoError(t, err)
	t.Cleanup(func() { cfg.Close() })
	require.NoError(t, cfg.SetCipherPreferences("default_tls13"))
	require.NoError(t, cfg.WipeTrustStore())
	// The failure cases would wait out s2n's blinding delay.
	require.NoError(t, cfg.SetMaxBlindingDelay(time.Second))
	for _, id := range identities {
		require.NoError(t, cfg.AddPSK([]byte(id), secret, PSKHMACSHA256))
	}
	return cfg
}

type pskResult struct {
	identity []byte
	line     string
	err      error
}

// pskServe handshakes a server Conn, reads a line and answers it.
func pskServe(c *Conn) pskResult {
	if err := c.Handshake(); err != nil {
		return pskResult{err: err}
	}
	id, err := c.Connection().NegotiatedPSKIdentity()
	if err != nil {
		return pskResult{err: err}
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return pskResult{identity: id, err: err}
	}
	_, err = c.Write([]byte("pong\n"))
	return pskResult{identity: id, line: string(buf[:n]), err: err}
}

// pskDial handshakes a client Conn to addr, sends a line and reads the answer.
func pskDial(t *testing.T, addr string, cfg *Config) pskResult {
	t.Helper()
	c := dialClient(t, addr, cfg)
	if err := c.Handshake(); err != nil {
		return pskResult{err: err}
	}
	id, err := c.Connection().NegotiatedPSKIdentity()
	require.NoError(t, err)
	_, err = c.Write([]byte("ping\n"))
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return pskResult{identity: id, line: string(buf[:n]), err: err}
}

// Two Go programs' worth of Conns authenticate each other by a PSK alone:
// neither side has a certificate or a trust store.
func TestPSKCertificateless(t *testing.T) {
	server := pskConfig(t, testPSKSecret, "service-a")
	addr, results := serveResults(t, server, 1, pskServe)
	r := pskDial(t, addr, pskConfig(t, testPSKSecret, "service-a"))
	require.NoError(t, r.err)
	require.Equal(t, "pong\n", r.line)
	require.Equal(t, []byte("service-a"), r.identity)
	sr := await(t, results, "server result")
	require.NoError(t, sr.err)
	require.Equal(t, "ping\n", sr.line)
	require.Equal(t, []byte("service-a"), sr.identity)
}

func TestPSKWrongSecretFails(t *testing.T) {
	server := pskConfig(t, testPSKSecret, "service-a")
	addr, results := serveResults(t, server, 1, pskServe)
	wrong := []byte("another secret of thirty-two b!!")
	r := pskDial(t, addr, pskConfig(t, wrong, "service-a"))
	require.Error(t, r.err)
	sr := await(t, results, "server result")
	// The server finds the identity, then the binder made with the other
	// secret does not verify.
	requireS2nError(t, sr.err, "S2N_ERR_BAD_PSK_BINDER")
}

func TestPSKUnknownIdentityFailsWithoutCertificate(t *testing.T) {
	server := pskConfig(t, testPSKSecret, "service-a")
	addr, results := serveResults(t, server, 1, pskServe)
	r := pskDial(t, addr, pskConfig(t, testPSKSecret, "service-b"))
	require.Error(t, r.err)
	sr := await(t, results, "server result")
	// No PSK chosen: a full handshake, for which the server has no
	// certificate to sign with.
	requireS2nError(t, sr.err, "S2N_ERR_NO_VALID_SIGNATURE_SCHEME")
}

func TestPSKSelectionCallback(t *testing.T) {
	ids := []string{"alpha", "beta", "gamma"}
	run := func(t *testing.T, fn PSKSelectionFunc) (client, server pskResult) {
		srv := pskConfig(t, testPSKSecret, ids...)
		require.NoError(t, srv.SetPSKSelectionCallback(fn))
		addr, results := serveResults(t, srv, 1, pskServe)
		client = pskDial(t, addr, pskConfig(t, testPSKSecret, ids...))
		return client, await(t, results, "server result")
	}

	t.Run("chooses the second", func(t *testing.T) {
		var offered []string
		c, s := run(t, func(conn *Connection, l *OfferedPSKList) error {
			var pick *OfferedPSK
			for l.HasNext() {
				o, err := l.Next()
				if err != nil {
					return err
				}
				id, err := o.Identity()
				if err != nil {
					return err
				}
				offered = append(offered, string(id))
				if string(id) == "beta" {
					pick = o
				}
			}
			if _, err := l.Next(); err == nil {
				return errors.New("Next past the end succeeded")
			}
			require.NoError(t, l.Reread())
			require.True(t, l.HasNext())
			return l.Choose(pick)
		})
		require.NoError(t, c.err)
		require.NoError(t, s.err)
		require.Equal(t, ids, offered)
		require.Equal(t, []byte("beta"), s.identity)
		require.Equal(t, []byte("beta"), c.identity)
	})

	t.Run("chooses none", func(t *testing.T) {
		_, s := run(t, func(*Connection, *OfferedPSKList) error { return nil })
		require.ErrorIs(t, s.err, errNoPSKChosen)
	})

	t.Run("error", func(t *testing.T) {
		mine := errors.New("no PSK for you")
		_, s := run(t, func(*Connection, *OfferedPSKList) error { return mine })
		require.ErrorIs(t, s.err, mine)
	})

	t.Run("panic", func(t *testing.T) {
		_, s := run(t, func(*Connection, *OfferedPSKList) error { panic("selection") })
		var pe *PanicError
		require.ErrorAs(t, s.err, &pe)
		require.Equal(t, "selection", pe.Value)
	})

	t.Run("list used after the callback", func(t *testing.T) {
		var kept *OfferedPSKList
		c, s := run(t, func(_ *Connection, l *OfferedPSKList) error {
			kept = l
			o, err := l.Next()
			if err != nil {
				return err
			}
			return l.Choose(o)
		})
		require.NoError(t, c.err)
		require.NoError(t, s.err)
		require.Equal(t, []byte("alpha"), s.identity)
		require.False(t, kept.HasNext())
		_, err := kept.Next()
		requireS2nError(t, err, nameInvalidArg)
	})
}

func TestPSKLowLevel(t *testing.T) {
	k, err := NewExternalPSK([]byte("id"), testPSKSecret, PSKHMACSHA384)
	require.NoError(t, err)
	defer k.Close()
	server := pskConfig(t, testPSKSecret)
	client := pskConfig(t, testPSKSecret)
	p := newPair(t, server, client)
	require.NoError(t, p.server.AppendPSK(k))
	require.NoError(t, p.client.AppendPSK(k))
	requireS2nError(t, p.client.AppendPSK(k), "S2N_ERR_DUPLICATE_PSK_IDENTITIES")
	p.handshake(t)
	for _, c := range []*Connection{p.server, p.client} {
		id, err := c.NegotiatedPSKIdentity()
		require.NoError(t, err)
		require.Equal(t, []byte("id"), id)
		require.Contains(t, c.CipherSuite(), "SHA384", "a SHA-384 PSK needs a SHA-384 suite")
	}
	require.NoError(t, k.Close())
	requireS2nError(t, k.SetSecret(testPSKSecret), nameClosed)

	_, err = NewExternalPSK(nil, testPSKSecret, PSKHMACSHA256)
	require.Error(t, err, "an empty identity")
}

func TestPSKConfigAddRefusesDuplicate(t *testing.T) {
	cfg := pskConfig(t, testPSKSecret, "a")
	requireS2nError(t, cfg.AddPSK([]byte("a"), testPSKSecret, PSKHMACSHA256), nameInvalidArg)
	require.NoError(t, cfg.SetPSKMode(PSKModeExternal))
}

// The binding as a client of `openssl s_server -nocert -psk`, then as a
// server of `openssl s_client -psk`.
func TestPSKInteropOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "the openssl command line is a peer of this test")
	hexKey := hex.EncodeToString(testPSKSecret)

	t.Run("s_server", func(t *testing.T) {
		p := startInteropPeer(t, openssl, []string{"s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
			"-tls1_3", "-nocert", "-psk", hexKey, "-psk_identity", "from-openssl"}, true, "")
		port := p.waitFor(t, interopSServerAccept)[1]
		raw, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		require.NoError(t, err)
		c := Client(raw, pskConfig(t, testPSKSecret, "from-openssl"), "")
		defer c.Close()
		require.NoError(t, c.Handshake())
		id, err := c.Connection().NegotiatedPSKIdentity()
		require.NoError(t, err)
		require.Equal(t, []byte("from-openssl"), id)
		_, err = c.Write([]byte("ping from s2n-go\n"))
		require.NoError(t, err)
		p.waitFor(t, regexp.MustCompile(regexp.QuoteMeta("ping from s2n-go")))
		p.send(t, "pong from openssl\n")
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(c, buf, len("pong from openssl\n"))
		require.NoError(t, err)
		require.Equal(t, "pong from openssl\n", string(buf[:n]))
		require.NoError(t, c.Close())
		out := p.wait(t)
		require.Contains(t, out, "\nDONE\n", "s_server read the close_notify")
	})

	t.Run("s_client", func(t *testing.T) {
		addr, results := serveResults(t, pskConfig(t, testPSKSecret, "to-openssl"), 1, pskServe)
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		p := startInteropPeer(t, openssl, []string{"s_client", "-connect", "127.0.0.1:" + port,
			"-tls1_3", "-psk", hexKey, "-psk_identity", "to-openssl", "-ign_eof"}, false, "ping\n")
		out := p.wait(t)
		r := await(t, results, "server result")
		require.NoError(t, r.err)
		require.Equal(t, []byte("to-openssl"), r.identity)
		require.Equal(t, "ping\n", r.line)
		require.Contains(t, out, "pong\n")
		// s_client reports a PSK handshake as a reused session.
		require.Contains(t, out, "Reused, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256")
		require.Contains(t, out, "no peer certificate available")
	})

	t.Run("s_client wrong key", func(t *testing.T) {
		addr, results := serveResults(t, pskConfig(t, testPSKSecret, "to-openssl"), 1, pskServe)
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		bad := strings.Repeat("ab", len(testPSKSecret))
		p := startInteropPeer(t, openssl, []string{"s_client", "-connect", "127.0.0.1:" + port,
			"-tls1_3", "-psk", bad, "-psk_identity", "to-openssl"}, false, "ping\n")
		p.wait(t)
		r := await(t, results, "server result")
		requireS2nError(t, r.err, "S2N_ERR_BAD_PSK_BINDER")
	})
}
