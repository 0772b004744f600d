package cli

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leak gate:", err)
			code = 1
		}
		if st := s2n.Stats(); st.Handles != 0 || st.PendingOps != 0 {
			fmt.Fprintf(os.Stderr, "leak gate: live handles %d, pending ops %d\n", st.Handles, st.PendingOps)
			code = 1
		}
	}
	os.Exit(code)
}

func newTestFlags(stdout *bytes.Buffer) (*FlagSet, *string, *bool) {
	fs := NewFlagSet("t", "usage text\n", stdout)
	c := fs.String("ciphers", "default", "")
	Alias(fs.FlagSet, "ciphers", "c")
	i := fs.Bool("insecure", false, "")
	Alias(fs.FlagSet, "insecure", "i")
	return fs, c, i
}

func TestParseArgsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		pos      []string
		ciphers  string
		insecure bool
	}{
		{nil, nil, "default", false},
		{[]string{"host", "443"}, []string{"host", "443"}, "default", false},
		{[]string{"-c", "p", "host", "443"}, []string{"host", "443"}, "p", false},
		{[]string{"host", "--ciphers", "p", "443", "-i"}, []string{"host", "443"}, "p", true},
		{[]string{"host", "443", "--ciphers=p"}, []string{"host", "443"}, "p", false},
		{[]string{"-i", "--", "-host", "-c"}, []string{"-host", "-c"}, "default", true},
		{[]string{"host", "--", "-i"}, []string{"host", "-i"}, "default", false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs, c, i := newTestFlags(new(bytes.Buffer))
			pos, err := fs.ParseArgs(tc.args)
			require.NoError(t, err)
			require.Equal(t, tc.pos, pos)
			require.Equal(t, tc.ciphers, *c)
			require.Equal(t, tc.insecure, *i)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	var out bytes.Buffer
	fs, _, _ := newTestFlags(&out)
	_, err := fs.ParseArgs([]string{"host", "--bogus"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "flag provided but not defined: -bogus", ue.Msg)
	_, err = fs.ParseArgs([]string{"-c"})
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "flag needs an argument: -c", ue.Msg)
	require.Empty(t, out.String(), "errors must not print usage")

	_, err = fs.ParseArgs([]string{"x", "-h"})
	require.ErrorIs(t, err, flag.ErrHelp)
	require.Equal(t, "usage text\n", out.String())
}

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, ExitOK, ""},
		{flag.ErrHelp, ExitOK, ""},
		{Usagef("bad %s", "thing"), ExitUsage, "cmd: bad thing (see cmd -h)\n"},
		{fmt.Errorf("wrapped: %w", Usagef("bad")), ExitUsage, "cmd: bad (see cmd -h)\n"},
		{errors.New("line one\nline  two"), ExitFailure, "cmd: line one line two\n"},
	} {
		var out bytes.Buffer
		require.Equal(t, tc.code, Report(&out, "cmd", tc.err))
		require.Equal(t, tc.out, out.String())
	}
}

func TestPort(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "8443": "8443", "065535": "65535"} {
		got, err := Port(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, in := range []string{"", "-1", "65536", "http", "80x"} {
		_, err := Port(in)
		var ue *UsageError
		require.ErrorAs(t, err, &ue, in)
	}
}

func TestSplitList(t *testing.T) {
	require.Equal(t, []string{"h2", "http/1.1"}, SplitList(" h2, ,http/1.1,"))
	require.Nil(t, SplitList(""))
}

func TestOffloadCountsAndDelays(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	o := NewOffload(priv, 30*time.Millisecond)
	key := o.Key()
	_, isDecrypter := key.(crypto.Decrypter)
	require.False(t, isDecrypter, "an ECDSA key must not pose as a Decrypter")
	digest := sha256.Sum256([]byte("hello"))
	start := time.Now()
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
	require.True(t, ecdsa.VerifyASN1(&priv.PublicKey, digest[:], sig))
	ops, avg := o.Stats()
	require.EqualValues(t, 1, ops)
	require.GreaterOrEqual(t, avg, 30*time.Millisecond)
	require.Contains(t, o.StatsString(), "1 key operation offloaded")
}

func TestOffloadRSADecryptsPremaster(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	d, ok := NewOffload(priv, 0).Key().(crypto.Decrypter)
	require.True(t, ok, "an RSA key must stay a Decrypter")
	premaster := make([]byte, 48)
	rand.Read(premaster)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, premaster)
	require.NoError(t, err)
	out, err := d.Decrypt(rand.Reader, ct, nil)
	require.NoError(t, err)
	require.Equal(t, premaster, out)
	// Bad padding: random bytes of the right length, never an error.
	ct[len(ct)-1] ^= 1
	out, err = d.Decrypt(rand.Reader, ct, nil)
	require.NoError(t, err)
	require.Len(t, out, 48)
	require.NotEqual(t, premaster, out)
}

func TestThrowaway(t *testing.T) {
	key, err := Throwaway(0)
	require.NoError(t, err)
	defer key.Close()
	require.True(t, key.Offloaded())
	require.Equal(t, "ECDSA P-256", KeyType(key.Leaf.PublicKey))
	require.NoError(t, key.Leaf.VerifyHostname("localhost"))
	require.NoError(t, key.Leaf.VerifyHostname("127.0.0.1"))
	require.WithinDuration(t, time.Now().Add(throwawayLifetime), key.Leaf.NotAfter, time.Minute)
	leaf, err := ParseLeaf(key.ChainPEM)
	require.NoError(t, err)
	require.Equal(t, key.Leaf.Raw, leaf.Raw)
	other, err := Throwaway(0)
	require.NoError(t, err)
	require.NotEqual(t, key.ChainPEM, other.ChainPEM, "every start makes a new key")

	cfg, err := s2n.NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	require.NoError(t, key.AddTo(cfg, 2))
}

// writeKeyPair writes a self-signed certificate and its PKCS#8 key.
func writeKeyPair(t *testing.T, dir, name string, priv crypto.Signer) (certFile, keyFile string) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

func TestKeyFlagsLoad(t *testing.T) {
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cert, keyFile := writeKeyPair(t, dir, "a", priv)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, otherKey := writeKeyPair(t, dir, "b", other)
	notPEM := filepath.Join(dir, "junk.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("junk"), 0o600))

	t.Run("held by s2n", func(t *testing.T) {
		k := KeyFlags{CertFile: cert, KeyFile: keyFile}
		key, err := k.Load("--cert", "--key")
		require.NoError(t, err)
		require.False(t, key.Offloaded())
		require.Equal(t, "file "+keyFile+", held by s2n", key.Describe())
	})
	t.Run("offloaded by latency", func(t *testing.T) {
		k := KeyFlags{CertFile: cert, KeyFile: keyFile, Latency: time.Millisecond}
		key, err := k.Load("--cert", "--key")
		require.NoError(t, err)
		require.True(t, key.Offloaded())
		require.Contains(t, key.Describe(), "offloaded asynchronously (+1ms simulated latency)")
	})
	for _, tc := range []struct {
		name string
		k    KeyFlags
		want string
	}{
		{"missing cert", KeyFlags{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: keyFile},
			"--cert: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"missing key", KeyFlags{CertFile: cert, KeyFile: filepath.Join(dir, "nope.key")},
			"--key: open " + filepath.Join(dir, "nope.key") + ": no such file or directory"},
		{"not PEM", KeyFlags{CertFile: notPEM, KeyFile: keyFile}, "--cert " + notPEM + ": no PEM CERTIFICATE block found"},
		{"mismatch", KeyFlags{CertFile: cert, KeyFile: otherKey, Async: true}, "private key does not match public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.Load("--cert", "--key")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestKeyFlagsValidate(t *testing.T) {
	t.Setenv("S2N_PKCS11_MODULE", "")
	t.Setenv("S2N_PKCS11_TOKEN_LABEL", "")
	for _, tc := range []struct {
		k    KeyFlags
		want string // "" for valid
	}{
		{KeyFlags{}, ""},
		{KeyFlags{CertFile: "c", KeyFile: "k"}, ""},
		{KeyFlags{CertFile: "c"}, "--cert needs --key"},
		{KeyFlags{KeyFile: "k"}, "--key needs --cert"},
		{KeyFlags{Latency: -time.Second}, "--key-latency must not be negative"},
		{KeyFlags{MaxInflight: -1}, "--max-inflight must not be negative"},
		{KeyFlags{PKCS11: PKCS11Flags{Module: "m"}}, "PKCS#11 settings need --pkcs11-key-label"},
		{KeyFlags{PKCS11: PKCS11Flags{KeyLabel: "l"}}, "needs --pkcs11-module"},
		{KeyFlags{PKCS11: PKCS11Flags{KeyLabel: "l", Module: "m"}}, "needs --pkcs11-token"},
		{KeyFlags{PKCS11: PKCS11Flags{KeyLabel: "l", Module: "m", Token: "t"}}, ""},
		{KeyFlags{KeyFile: "k", PKCS11: PKCS11Flags{KeyLabel: "l", Module: "m", Token: "t"}}, "are exclusive"},
	} {
		err := tc.k.Validate("--cert", "--key")
		if tc.want == "" {
			require.NoError(t, err, "%+v", tc.k)
			continue
		}
		var ue *UsageError
		require.ErrorAs(t, err, &ue, "%+v", tc.k)
		require.Contains(t, ue.Msg, tc.want)
	}
}

func TestPKCS11FromEnvironment(t *testing.T) {
	t.Setenv("S2N_PKCS11_MODULE", "/lib/m.so")
	t.Setenv("S2N_PKCS11_TOKEN_LABEL", "tok")
	t.Setenv("S2N_PKCS11_PIN", "1234")
	k := KeyFlags{PKCS11: PKCS11Flags{KeyLabel: "l", Token: "flag wins"}}
	require.NoError(t, k.Validate("--cert", "--key"))
	require.Equal(t, PKCS11Flags{Module: "/lib/m.so", Token: "flag wins", PIN: "1234", KeyLabel: "l"}, k.PKCS11)
	require.True(t, k.Offloaded())

	_, err := k.Load("--cert", "--key")
	require.EqualError(t, err, "--pkcs11-module: stat /lib/m.so: no such file or directory")
}

func TestSummaryAndFields(t *testing.T) {
	key, err := Throwaway(0)
	require.NoError(t, err)
	st := State{
		TLS:  tls.ConnectionState{ServerName: "localhost", PeerCertificates: []*x509.Certificate{key.Leaf}},
		Info: s2n.HandshakeInfo{Version: s2n.TLS13, CipherSuite: "TLS_AES_128_GCM_SHA256", KeyExchangeGroup: "x25519", OffloadedOps: 1},
	}
	require.Equal(t, `protocol=TLS1.3 cipher=TLS_AES_128_GCM_SHA256 group=x25519 alpn=- sni=localhost resumed=no `+
		`peer-cert="CN=localhost,O=s2nd throwaway" offloaded-ops=1`, Summary(st))
	block := Block(Fields(st, "server"))
	require.Contains(t, block, "  protocol                  TLS1.3\n")
	require.Contains(t, block, "  peer certificate          CN=localhost,O=s2nd throwaway (ECDSA P-256, self-signed, expires ")
	require.Contains(t, block, "  server key ops offloaded  1\n")
	require.Contains(t, Block(Fields(State{TLS: tls.ConnectionState{DidResume: true}}, "client")), "none (not sent again on resumption)")
}

func TestTLSFlagsBuffers(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"--prefer-throughput"}, ""},
		{[]string{"--prefer-low-latency", "--release-idle-buffers"}, ""},
		{[]string{"--prefer-throughput", "--prefer-low-latency"}, "exclude each other"},
	} {
		var f TLSFlags
		fs := NewFlagSet("t", "usage\n", &bytes.Buffer{})
		f.Register(fs.FlagSet, []string{"a"}, "f")
		_, err := fs.ParseArgs(tc.args)
		require.NoError(t, err)
		cfg, err := NewConfig(f.Apply)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%v", tc.args)
			continue
		}
		require.NoError(t, err, "%v", tc.args)
		require.NoError(t, cfg.Close())
	}
}

// HostMatcher checks names as s2n-tls's s2nc's unsafe_verify_host does.
func TestHostMatcher(t *testing.T) {
	for _, tc := range []struct {
		host, name string
		want       bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "EXAMPLE.com", true},
		{"example.com", "other.com", false},
		{"www.example.com", "*.example.com", true},
		{"a.www.example.com", "*.example.com", false},
		{"example.com", "*.com", true},
		{"localhost", "*.localhost", false},
		{"localhost", "127.0.0.1", true},
		{"127.0.0.1", "localhost", true},
		{"localhost", "LOCALHOST", true},
		{"example.com", "localhost", false},
		{"localhost", "example.com", false},
	} {
		require.Equal(t, tc.want, HostMatcher(tc.host)(tc.name), "host %q, name %q", tc.host, tc.name)
	}
}
