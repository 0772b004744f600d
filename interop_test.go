package s2n

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Interoperability with real peers: the binding as a server against Go's
// crypto/tls client, `openssl s_client` and s2n-tls's own C s2nc; as a client
// against crypto/tls, `openssl s_server` and s2nd. Every case also checks
// ALPN, SNI, data both ways and close_notify: the peer always sees the
// binding's, and the binding sees the peer's in TLS 1.3 (half-close) and in
// TLS 1.2 where the peer can start the close (see interopFinish). The
// binding's own key (server key, or client key for mutual auth) is always a
// crypto.Signer behind AddCertChainWithSigner, and the matrix of results is
// logged at the end.

// interopTimeout bounds a peer process and each connection, only so that a
// broken peer cannot hang the suite.
const interopTimeout = 30 * time.Second

type interopCase struct {
	name    string
	version ProtocolVersion
	rsaKey  bool   // the server's key is RSA (else ECDSA)
	rsaKex  bool   // TLS 1.2 RSA key exchange: the server's key decrypts
	client  string // mutual auth with the client's "ecdsa" or "rsa" key
	resume  bool   // a second connection resumes the first one's session
}

var interopCases = []interopCase{
	{name: "ecdsa-tls13", version: TLS13},
	{name: "rsa-tls13", version: TLS13, rsaKey: true},
	{name: "ecdsa-tls12", version: TLS12},
	{name: "rsa-tls12", version: TLS12, rsaKey: true},
	{name: "rsa-kex-tls12", version: TLS12, rsaKey: true, rsaKex: true},
	{name: "mtls-ecdsa-tls13", version: TLS13, client: "ecdsa"},
	{name: "mtls-rsa-tls13", version: TLS13, client: "rsa"},
	{name: "mtls-ecdsa-tls12", version: TLS12, client: "ecdsa"},
	{name: "mtls-rsa-tls12", version: TLS12, client: "rsa"},
	{name: "resume-tls13", version: TLS13, resume: true},
	{name: "resume-tls12", version: TLS12, resume: true},
}

// serverPolicy is the s2n security policy of an s2n server (the binding or
// s2nd), clientPolicy that of an s2n client (the binding or s2nc). For RSA
// key exchange the client offers RSA key exchange only and the server's
// policy ranks AES128-GCM-SHA256 first among those suites. The other peers
// are pinned to that suite too; and the s2nc/s2nd build (s2n-tls 1.5.16 on
// AWS-LC 5.12.0) fails every AES-CBC-SHA suite in its composite cipher
// ("error decrypting data"), even against OpenSSL.
func (c interopCase) serverPolicy() string {
	if c.rsaKex {
		return "20190801"
	}
	return c.clientPolicy()
}

func (c interopCase) clientPolicy() string {
	switch {
	case c.rsaKex:
		return "test_all_rsa_kex"
	case c.version == TLS12:
		return policyTLS12
	}
	return "default_tls13"
}

// keys returns the server's key and the client's (nil without mutual auth).
func (c interopCase) keys(t testing.TB) (server, client *testKey) {
	ec, rs, ec2 := testKeys(t)
	server = ec
	if c.rsaKey {
		server = rs
	}
	switch c.client {
	case "ecdsa":
		client = ec2
	case "rsa":
		client = rs
	}
	return server, client
}

// conns is how many connections the case makes.
func (c interopCase) conns() int {
	if c.resume {
		return 2
	}
	return 1
}

// interopRSAKexSuite is the TLS 1.2 RSA key-exchange suite the cases use.
const interopRSAKexSuite = "AES128-GCM-SHA256"

// interopPeer is one column of the matrix.
type interopPeer struct {
	name string // "server-vs-s_client": the binding's role, then the peer
	run  func(t *testing.T, env *interopEnv, c interopCase)
}

// interopEnv holds what the peers share: key files and tool paths.
type interopEnv struct {
	files   map[*testKey]interopKeyFiles
	openssl string
	s2nc    string
	s2nd    string
}

type interopKeyFiles struct{ cert, key string }

func TestInterop(t *testing.T) {
	env := newInteropEnv(t)
	peers := []interopPeer{
		{"server-vs-gotls", runInteropGoClient},
		{"server-vs-s_client", runInteropSClient},
		{"server-vs-s2nc", runInteropS2NC},
		{"client-vs-gotls", runInteropGoServer},
		{"client-vs-s_server", runInteropSServer},
		{"client-vs-s2nd", runInteropS2ND},
	}
	// results[peer][case] is "pass" or "FAIL"; a pair the -run filter left
	// out has no entry. The cases of a peer run in parallel (s2nd alone
	// spends about two seconds of CPU per start, checking its built-in DH
	// parameters); the peers one after another.
	var mu sync.Mutex
	results := map[string]map[string]string{}
	for _, p := range peers {
		results[p.name] = map[string]string{}
		t.Run(p.name, func(t *testing.T) {
			for _, c := range interopCases {
				t.Run(c.name, func(t *testing.T) {
					// Registered first, so it runs last: after the peer
					// process is gone and everything has been checked.
					t.Cleanup(func() {
						mu.Lock()
						defer mu.Unlock()
						results[p.name][c.name] = map[bool]string{true: "FAIL", false: "pass"}[t.Failed()]
					})
					t.Parallel()
					p.run(t, env, c)
				})
			}
		})
	}
	t.Log("\n" + interopMatrix(env, peers, results))
}

// interopMatrix renders the results as a table: a row per case, a column per
// peer.
func interopMatrix(env *interopEnv, peers []interopPeer, results map[string]map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "interop matrix (binding: s2n-tls %s, %s; peers: Go %s crypto/tls, %s, %s)\n",
		Version(), Libcrypto(), strings.TrimPrefix(runtime.Version(), "go"), env.opensslVersion(), env.s2nUtilsVersion())
	fmt.Fprintf(&b, "%-18s", "case")
	for _, p := range peers {
		fmt.Fprintf(&b, " | %-18s", p.name)
	}
	b.WriteString("\n")
	for _, c := range interopCases {
		fmt.Fprintf(&b, "%-18s", c.name)
		for _, p := range peers {
			v, ok := results[p.name][c.name]
			if !ok {
				v = "-"
			}
			fmt.Fprintf(&b, " | %-18s", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func newInteropEnv(t *testing.T) *interopEnv {
	ec, rs, ec2 := testKeys(t)
	dir := t.TempDir()
	env := &interopEnv{files: map[*testKey]interopKeyFiles{}}
	for _, k := range []*testKey{ec, rs, ec2} {
		f := interopKeyFiles{cert: filepath.Join(dir, k.name+".crt"), key: filepath.Join(dir, k.name+".key")}
		require.NoError(t, os.WriteFile(f.cert, k.certPEM, 0o600))
		require.NoError(t, os.WriteFile(f.key, k.keyPEM, 0o600))
		env.files[k] = f
	}
	var err error
	env.openssl, err = exec.LookPath("openssl")
	require.NoError(t, err, "the openssl command line is a peer of these tests: apt-get install openssl (scripts/test does)")
	for name, dst := range map[string]*string{"s2nc": &env.s2nc, "s2nd": &env.s2nd} {
		p, err := filepath.Abs(filepath.Join("third_party", "dist", "s2n-utils", "bin", name))
		require.NoError(t, err)
		_, err = os.Stat(p)
		require.NoError(t, err, "s2n-tls's %s is a peer of these tests: run scripts/build-s2n-utils (scripts/test does)", name)
		*dst = p
	}
	return env
}

func (env *interopEnv) opensslVersion() string {
	out, err := exec.Command(env.openssl, "version").Output()
	if err != nil {
		return "openssl (version unknown)"
	}
	return strings.Join(strings.Fields(string(out))[:2], " ")
}

// s2nUtilsVersion names the s2n-tls release s2nc/s2nd were built from: the
// awscrt pin in third_party/deps.lock, whose note names the s2n-tls copy it
// carries.
func (env *interopEnv) s2nUtilsVersion() string {
	lock, err := os.ReadFile(filepath.Join("third_party", "deps.lock"))
	if err != nil {
		return "s2nc/s2nd (third_party/deps.lock unreadable)"
	}
	for _, line := range strings.Split(string(lock), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "pypi:awscrt" {
			continue
		}
		return fmt.Sprintf("s2nc/s2nd %s (awscrt %s)", regexp.MustCompile(`s2n-tls v[0-9.]+`).FindString(line), f[1])
	}
	return "s2nc/s2nd (no awscrt pin in third_party/deps.lock)"
}

// --- the binding's side of a connection --------------------------------------

// interopResult is what one end of a connection saw.
type interopResult struct {
	err   error  // setup, handshake or I/O failure
	got   string // the line the peer sent
	extra int    // bytes after that line (none expected)
	end   error  // what Read returned after the peer was done: io.EOF for close_notify
	state tls.ConnectionState
	info  HandshakeInfo
}

// interopExchange is a crypto/tls end of the exchange: send a line, read
// the peer's line, send close_notify, then read to the peer's close_notify.
func interopExchange(conn io.ReadWriter, closeWrite func() error, msg string) (got string, extra int, end error, err error) {
	if _, err := io.WriteString(conn, msg); err != nil {
		return "", 0, nil, fmt.Errorf("write: %w", err)
	}
	if got, err = interopReadLine(conn); err != nil {
		return got, 0, nil, fmt.Errorf("read after %q: %w", got, err)
	}
	if err := closeWrite(); err != nil {
		return got, 0, nil, fmt.Errorf("close_notify: %w", err)
	}
	extra, end = interopReadToEnd(conn)
	return got, extra, end, nil
}

// interopReadLine reads up to a newline. crypto/tls may return the last data
// together with io.EOF when close_notify follows it: the line still counts.
func interopReadLine(r io.Reader) (string, error) {
	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := r.Read(buf)
		line = append(line, buf[:n]...)
		if bytes.Contains(line, []byte("\n")) {
			return string(line), nil
		}
		if err != nil {
			return string(line), err
		}
	}
}

func interopReadToEnd(r io.Reader) (int, error) {
	buf := make([]byte, 256)
	total := 0
	for {
		n, err := r.Read(buf)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// interopServerConfig is the binding's server Config for c: the server key
// offloaded to a faultySigner, ALPN h2, client auth and tickets as c needs.
func interopServerConfig(t *testing.T, c interopCase) (*Config, *faultySigner) {
	server, client := c.keys(t)
	o := configOpts{policy: c.serverPolicy()}
	if client != nil {
		o.trust, o.clientAuth = client, ClientAuthRequired
	}
	cfg := newTestConfig(t, o)
	signer := &faultySigner{key: server.signer}
	require.NoError(t, cfg.AddCertChainWithSigner(server.certPEM, signer))
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2"}))
	if c.resume {
		key := make([]byte, 32)
		_, err := rand.Read(key)
		require.NoError(t, err)
		require.NoError(t, cfg.SetSessionTickets(true))
		require.NoError(t, cfg.AddTicketKey([]byte("interop"), key, time.Time{}))
	}
	return cfg, signer
}

// interopClientConfig is the binding's client Config for c: trusts the
// server's certificate, offers h2 and http/1.1, and for mutual auth sends the
// client's certificate with its key offloaded to a faultySigner.
func interopClientConfig(t *testing.T, c interopCase) (*Config, *faultySigner) {
	server, client := c.keys(t)
	cfg := newTestConfig(t, configOpts{policy: c.clientPolicy(), trust: server})
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2", "http/1.1"}))
	var signer *faultySigner
	if client != nil {
		signer = &faultySigner{key: client.signer}
		require.NoError(t, cfg.AddCertChainWithSigner(client.certPEM, signer))
		// s2n clients default to Optional: send a certificate when asked.
		require.NoError(t, cfg.SetClientAuthType(ClientAuthOptional))
	}
	if c.resume {
		require.NoError(t, cfg.SetSessionTickets(true))
	}
	return cfg, signer
}

// interopServe is the binding server's side of the exchange, answering
// with reply, then Close. peerCloses: see interopFinish.
func interopServe(c *Conn, reply string, peerCloses bool) (r interopResult) {
	defer interopClose(c, &r)
	if r = interopAnswer(c, reply); r.err == nil {
		r.extra, r.end, r.err = interopFinish(c, peerCloses)
	}
	return r
}

// interopAnswer runs the binding server's handshake, reads the peer's line
// and answers it with reply.
func interopAnswer(c *Conn, reply string) (r interopResult) {
	c.SetDeadline(time.Now().Add(interopTimeout))
	if err := c.Handshake(); err != nil {
		return interopResult{err: fmt.Errorf("handshake: %w", err)}
	}
	r.state, r.info = c.ConnectionState(), c.HandshakeInfo()
	// The reply goes out only once the peer's line is in.
	line, err := interopReadLine(c)
	r.got = line
	if err != nil {
		r.err = fmt.Errorf("read: %w", err)
		return r
	}
	if _, err := io.WriteString(c, reply); err != nil {
		r.err = fmt.Errorf("write: %w", err)
	}
	return r
}

// interopClose closes c; its error goes to r unless r has one already.
func interopClose(c *Conn, r *interopResult) {
	if err := c.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("close: %w", err)
	}
}

// errInteropEndNotRead stands for the peer's close_notify on a TLS 1.2
// connection the binding closed first: before TLS 1.3 there is no
// half-close (CloseWrite refuses), so Close sends close_notify and closes
// the transport, and only the peer can check that close.
var errInteropEndNotRead = errors.New("the binding closed first: the peer's close_notify was not read")

// interopFinish ends the binding's side of the exchange, before Close. In
// TLS 1.3 it sends close_notify with CloseWrite and reads to the peer's. In
// TLS 1.2 a peer that can start the close (peerCloses: crypto/tls, s2nc)
// does, and the binding reads to its close_notify and answers with Close;
// with the others the binding starts with Close.
func interopFinish(c *Conn, peerCloses bool) (extra int, end, err error) {
	switch {
	case c.HandshakeInfo().Version >= TLS13:
		if err := c.CloseWrite(); err != nil {
			return 0, nil, fmt.Errorf("close_notify: %w", err)
		}
		extra, end = interopReadToEnd(c)
	case peerCloses:
		extra, end = interopReadToEnd(c)
	default:
		end = errInteropEndNotRead
	}
	return extra, end, nil
}

// interopDial connects the binding's client to addr (SNI localhost), offers
// session if not nil, runs the exchange, and returns what it saw and the
// session to resume next time. up, if not nil, runs once the handshake is
// done; peerCloses: see interopFinish.
func interopDial(t *testing.T, cfg *Config, addr string, session []byte, msg string, up func(), peerCloses bool) (interopResult, []byte) {
	raw, err := net.DialTimeout("tcp", addr, interopTimeout)
	if err != nil {
		return interopResult{err: err}, nil
	}
	c := Client(raw, cfg, "localhost")
	if session != nil {
		if err := c.Connection().SetSession(session); err != nil {
			c.Close()
			return interopResult{err: fmt.Errorf("SetSession: %w", err)}, nil
		}
	}
	c.SetDeadline(time.Now().Add(interopTimeout))
	var r interopResult
	if err := c.Handshake(); err != nil {
		c.Close()
		return interopResult{err: fmt.Errorf("handshake: %w", err)}, nil
	}
	if up != nil {
		up()
	}
	if _, err := io.WriteString(c, msg); err != nil {
		r.err = fmt.Errorf("write: %w", err)
	} else if r.got, err = interopReadLine(c); err != nil {
		r.err = fmt.Errorf("read after %q: %w", r.got, err)
	} else {
		r.extra, r.end, r.err = interopFinish(c, peerCloses)
	}
	// TLS 1.3 tickets arrive after the handshake: read with the data.
	next, err := c.Connection().Session()
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("Session: %w", err)
	}
	r.state, r.info = c.ConnectionState(), c.HandshakeInfo()
	interopClose(c, &r)
	return r, next
}

// requireInteropEnd checks how the binding's side ended: io.EOF, for the
// peer's close_notify, unless the binding closed a TLS 1.2 connection first.
func requireInteropEnd(t *testing.T, c interopCase, peerCloses bool, end error, msg string) {
	t.Helper()
	if c.version == TLS12 && !peerCloses {
		require.ErrorIs(t, end, errInteropEndNotRead, msg)
		return
	}
	require.Equal(t, io.EOF, end, msg)
}

// checkInteropServer checks the binding server's view of connection i.
func checkInteropServer(t *testing.T, c interopCase, r interopResult, i int, want string, peerCloses bool) {
	t.Helper()
	require.NoError(t, r.err, "binding server, connection %d", i)
	require.Equal(t, want, r.got, "data from the client")
	require.Zero(t, r.extra, "bytes after the client's line")
	requireInteropEnd(t, c, peerCloses, r.end, "the client's close_notify ends the stream cleanly")
	st, info := r.state, r.info
	require.True(t, st.HandshakeComplete)
	require.Equal(t, c.version, info.Version)
	require.Equal(t, interopGoVersion(c.version), st.Version)
	require.Equal(t, "h2", st.NegotiatedProtocol, "ALPN")
	require.Equal(t, "localhost", st.ServerName, "SNI")
	resumed := c.resume && i == 1
	require.Equal(t, resumed, st.DidResume, "resumed")
	if resumed {
		require.False(t, info.KeyOffloaded, "a resumed handshake needs no key operation")
	} else {
		require.True(t, info.KeyOffloaded, "the server's key operation went to the signer")
		require.Equal(t, 1, info.OffloadedOps)
	}
	checkInteropKeyExchange(t, c, st, info, resumed)
	if _, client := c.keys(t); client != nil {
		require.NotEmpty(t, st.PeerCertificates, "client certificate")
		require.Equal(t, client.cert.Raw, st.PeerCertificates[0].Raw)
	} else {
		require.Empty(t, st.PeerCertificates)
	}
}

// checkInteropClient checks the binding client's view of connection i.
func checkInteropClient(t *testing.T, c interopCase, r interopResult, i int, want string, peerCloses bool) {
	t.Helper()
	require.NoError(t, r.err, "binding client, connection %d", i)
	require.Equal(t, want, r.got, "data from the server")
	require.Zero(t, r.extra, "bytes after the server's line")
	requireInteropEnd(t, c, peerCloses, r.end, "the server's close_notify ends the stream cleanly")
	st, info := r.state, r.info
	require.True(t, st.HandshakeComplete)
	require.Equal(t, c.version, info.Version)
	require.Equal(t, interopGoVersion(c.version), st.Version)
	require.Equal(t, "h2", st.NegotiatedProtocol, "ALPN")
	require.Equal(t, "localhost", st.ServerName, "SNI sent")
	resumed := c.resume && i == 1
	require.Equal(t, resumed, st.DidResume, "resumed")
	server, client := c.keys(t)
	if !resumed {
		require.NotEmpty(t, st.PeerCertificates)
		require.Equal(t, server.cert.Raw, st.PeerCertificates[0].Raw)
	}
	if client != nil {
		require.True(t, info.KeyOffloaded, "the client's key operation went to the signer")
		require.Equal(t, 1, info.OffloadedOps)
	} else {
		require.False(t, info.KeyOffloaded)
	}
	checkInteropKeyExchange(t, c, st, info, resumed)
}

// checkInteropKeyExchange checks the key exchange: none for RSA key exchange
// or a resumed TLS 1.2 session, an (EC)DHE group otherwise (a resumed TLS 1.3
// session still runs one: psk_dhe_ke). crypto/tls's view (IANA codes) must
// match s2n's names.
func checkInteropKeyExchange(t *testing.T, c interopCase, st tls.ConnectionState, info HandshakeInfo, resumed bool) {
	t.Helper()
	require.NotZero(t, st.CipherSuite, "IANA code of %s", info.CipherSuite)
	if info.Version == TLS13 { // TLS 1.3 suites have the same names in s2n and crypto/tls
		require.Equal(t, info.CipherSuite, tls.CipherSuiteName(st.CipherSuite))
	}
	switch {
	case c.rsaKex:
		require.Empty(t, info.KeyExchangeGroup)
		require.Zero(t, st.CurveID)
		require.Equal(t, interopRSAKexSuite, info.CipherSuite)
	case resumed && c.version == TLS12:
		require.Empty(t, info.KeyExchangeGroup)
	default:
		require.NotEmpty(t, info.KeyExchangeGroup)
		require.Equal(t, curveIDs[info.KeyExchangeGroup], st.CurveID)
		require.NotZero(t, st.CurveID, "%s has an IANA code", info.KeyExchangeGroup)
	}
}

// requireSameGroup checks both sides name the same key exchange group, but
// for a resumed TLS 1.2 session, which runs none: crypto/tls then reports
// the original session's group and s2n none.
func requireSameGroup(t *testing.T, c interopCase, i int, goSide, binding tls.ConnectionState) {
	t.Helper()
	if c.resume && i == 1 && c.version == TLS12 {
		require.Zero(t, binding.CurveID)
		return
	}
	require.Equal(t, goSide.CurveID, binding.CurveID, "both sides name the same group")
}

// checkInteropSigner checks the offloaded key ran once per full handshake,
// plus, for an RSA key exchange, once for the one probe per key of whether
// its Decrypt honours SessionKeyLen (see decryptPremaster).
func checkInteropSigner(t *testing.T, c interopCase, signer *faultySigner, want int) {
	t.Helper()
	if c.rsaKex {
		want++
	}
	if signer != nil {
		require.EqualValues(t, want, signer.calls.Load(), "key operations")
	}
}

// --- crypto/tls ----------------------------------------------------------------

func interopGoVersion(v ProtocolVersion) uint16 {
	if v == TLS13 {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// interopGoConfig pins crypto/tls to the case's version and, for RSA key
// exchange, to the RSA suite.
func interopGoConfig(c interopCase) *tls.Config {
	cfg := &tls.Config{MinVersion: interopGoVersion(c.version), MaxVersion: interopGoVersion(c.version)}
	if c.rsaKex {
		cfg.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	}
	return cfg
}

func runInteropGoClient(t *testing.T, env *interopEnv, c interopCase) {
	server, client := c.keys(t)
	cfg, signer := interopServerConfig(t, c)
	// crypto/tls sends close_notify first (CloseWrite) in either version.
	addr, results := serveResults(t, cfg, c.conns(), func(conn *Conn) interopResult {
		return interopServe(conn, "pong from s2n-go\n", true)
	})
	goCfg := interopGoConfig(c)
	goCfg.RootCAs, goCfg.ServerName, goCfg.NextProtos = certPool(server), "localhost", []string{"h2", "http/1.1"}
	if client != nil {
		goCfg.Certificates = []tls.Certificate{goCert(client)}
	}
	if c.resume {
		goCfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	for i := range c.conns() {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: interopTimeout}, Config: goCfg}
		raw, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		conn := raw.(*tls.Conn)
		conn.SetDeadline(time.Now().Add(interopTimeout))
		got, extra, end, err := interopExchange(conn, conn.CloseWrite, "ping from crypto/tls\n")
		st := conn.ConnectionState()
		conn.Close()
		require.NoError(t, err)
		require.Equal(t, "pong from s2n-go\n", got)
		require.Zero(t, extra)
		require.Equal(t, io.EOF, end, "crypto/tls saw the binding's close_notify")
		require.Equal(t, interopGoVersion(c.version), st.Version)
		require.Equal(t, "h2", st.NegotiatedProtocol)
		require.Equal(t, c.resume && i == 1, st.DidResume)
		r := <-results
		checkInteropServer(t, c, r, i, "ping from crypto/tls\n", true)
		require.Equal(t, st.CipherSuite, r.state.CipherSuite, "both sides name the same suite")
		requireSameGroup(t, c, i, st, r.state)
	}
	checkInteropSigner(t, c, signer, 1)
}

func runInteropGoServer(t *testing.T, env *interopEnv, c interopCase) {
	server, client := c.keys(t)
	goCfg := interopGoConfig(c)
	goCfg.Certificates, goCfg.NextProtos = []tls.Certificate{goCert(server)}, []string{"h2"}
	if client != nil {
		goCfg.ClientAuth, goCfg.ClientCAs = tls.RequireAndVerifyClientCert, certPool(client)
	}
	type goResult struct {
		got      string
		extra    int
		end, err error
		state    tls.ConnectionState
	}
	addr, results := serveGoTLS(t, goCfg, c.conns(), func(conn *tls.Conn) (r goResult) {
		conn.SetDeadline(time.Now().Add(interopTimeout))
		if r.err = conn.Handshake(); r.err == nil {
			r.got, r.err = interopReadLine(conn)
			if r.err == nil {
				_, r.err = io.WriteString(conn, "pong from crypto/tls\n")
			}
			if r.err == nil {
				r.err = conn.CloseWrite()
			}
			if r.err == nil {
				r.extra, r.end = interopReadToEnd(conn)
			}
		}
		r.state = conn.ConnectionState()
		conn.Close()
		return r
	})

	cfg, signer := interopClientConfig(t, c)
	var session []byte
	for i := range c.conns() {
		// The crypto/tls server sends close_notify after its reply.
		r, next := interopDial(t, cfg, addr, session, "ping from s2n-go\n", nil, true)
		session = next
		checkInteropClient(t, c, r, i, "pong from crypto/tls\n", true)
		g := <-results
		require.NoError(t, g.err, "crypto/tls server")
		require.Equal(t, "ping from s2n-go\n", g.got)
		require.Zero(t, g.extra)
		require.Equal(t, io.EOF, g.end, "crypto/tls saw the binding's close_notify")
		require.Equal(t, "localhost", g.state.ServerName, "SNI")
		require.Equal(t, "h2", g.state.NegotiatedProtocol)
		require.Equal(t, c.resume && i == 1, g.state.DidResume)
		require.Equal(t, g.state.CipherSuite, r.state.CipherSuite, "both sides name the same suite")
		requireSameGroup(t, c, i, g.state, r.state)
		if client != nil {
			require.NotEmpty(t, g.state.PeerCertificates)
			require.Equal(t, client.cert.Raw, g.state.PeerCertificates[0].Raw)
		}
		if c.resume && i == 0 {
			require.NotEmpty(t, session, "a session to resume")
		}
	}
	checkInteropSigner(t, c, signer, 1)
}

// --- peer processes --------------------------------------------------------------

// interopProc is a peer program running for one test, killed if it outlives
// its timeout or the test.
type interopProc struct {
	name  string
	stdin io.WriteCloser // nil unless asked for
	out   *interopOutput // stdout and stderr
	done  chan struct{}
	err   error // from Wait, once done is closed
}

// startInteropPeer runs path with args. With keepStdin its stdin is a pipe
// the test writes to (closed when the process exits); otherwise stdin is
// input. Its output is logged if the test fails.
func startInteropPeer(t *testing.T, path string, args []string, keepStdin bool, input string) *interopProc {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = time.Second
	p := &interopProc{name: filepath.Base(path) + " " + strings.Join(args, " "), out: newInteropOutput(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if keepStdin {
		w, err := cmd.StdinPipe()
		require.NoError(t, err)
		p.stdin = w
	} else {
		cmd.Stdin = strings.NewReader(input)
	}
	require.NoError(t, cmd.Start(), p.name)
	go func() {
		p.err = cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		if t.Failed() {
			t.Logf("%s (%v):\n%s", p.name, p.err, p.out)
		}
	})
	return p
}

// send writes to the peer's stdin.
func (p *interopProc) send(t *testing.T, s string) {
	_, err := io.WriteString(p.stdin, s)
	require.NoError(t, err, "writing to %s", p.name)
}

// waitFor waits until the output matches re and returns the submatches; it
// fails if the process exits first.
func (p *interopProc) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	p.waitUntil(t, fmt.Sprintf("%q", re), func(out string) bool {
		m = re.FindStringSubmatch(out)
		return m != nil
	})
	return m
}

// waitCount waits until s occurs n times in the output.
func (p *interopProc) waitCount(t *testing.T, s string, n int) {
	t.Helper()
	p.waitUntil(t, fmt.Sprintf("%d times %q", n, s), func(out string) bool { return strings.Count(out, s) >= n })
}

func (p *interopProc) waitUntil(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	if !p.watch(ok) {
		t.Fatalf("%s exited (%v) before printing %s:\n%s", p.name, p.err, what, p.out)
	}
}

// watch waits until ok holds for the output; false if the process exited
// first.
func (p *interopProc) watch(ok func(string) bool) bool {
	for {
		if ok(p.out.String()) {
			return true
		}
		select {
		case <-p.out.changed:
		case <-p.done:
			return ok(p.out.String())
		}
	}
}

// wait waits for the process to exit by itself and returns its output; it
// fails unless the exit status is 0.
func (p *interopProc) wait(t *testing.T) string {
	t.Helper()
	<-p.done
	out := p.out.String()
	require.NoError(t, p.err, "%s:\n%s", p.name, out)
	return out
}

// interopOutput collects output and signals each write.
type interopOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newInteropOutput() *interopOutput { return &interopOutput{changed: make(chan struct{}, 1)} }

func (b *interopOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	n, err := b.buf.Write(p)
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (b *interopOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// requireInteropOutput checks out has every one of want.
func requireInteropOutput(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		require.Contains(t, out, w, "peer output:\n%s", out)
	}
}

// --- OpenSSL ---------------------------------------------------------------------

func interopOpenSSLVersionFlag(v ProtocolVersion) string {
	if v == TLS13 {
		return "-tls1_3"
	}
	return "-tls1_2"
}

func interopOpenSSLProtocol(v ProtocolVersion) string {
	if v == TLS13 {
		return "TLSv1.3"
	}
	return "TLSv1.2"
}

func runInteropSClient(t *testing.T, env *interopEnv, c interopCase) {
	server, client := c.keys(t)
	cfg, signer := interopServerConfig(t, c)
	// s_client cannot start a close and wait for the answer: the binding
	// closes first.
	addr, results := serveResults(t, cfg, c.conns(), func(conn *Conn) interopResult {
		return interopServe(conn, "pong from s2n-go\n", false)
	})
	sess := filepath.Join(t.TempDir(), "session.pem")
	for i := range c.conns() {
		args := []string{"s_client", "-connect", addr, "-servername", "localhost",
			"-verify_hostname", "localhost", "-verify_return_error", "-CAfile", env.files[server].cert,
			"-alpn", "h2,http/1.1", interopOpenSSLVersionFlag(c.version),
			// Keep reading after stdin ends: the binding's close_notify
			// ends the run.
			"-ign_eof"}
		if c.rsaKex {
			args = append(args, "-cipher", interopRSAKexSuite)
		}
		if client != nil {
			args = append(args, "-cert", env.files[client].cert, "-key", env.files[client].key)
		}
		if c.resume {
			if i == 0 {
				args = append(args, "-sess_out", sess)
			} else {
				args = append(args, "-sess_in", sess)
			}
		}
		p := startInteropPeer(t, env.openssl, args, false, "ping from openssl\n")
		out := p.wait(t)
		checkInteropServer(t, c, <-results, i, "ping from openssl\n", false)
		kind := "New"
		if c.resume && i == 1 {
			kind = "Reused"
		}
		requireInteropOutput(t, out,
			"pong from s2n-go\n",
			kind+", "+interopOpenSSLProtocol(c.version)+", Cipher is ",
			"ALPN protocol: h2",
			"Verify return code: 0 (ok)",
			// s_client prints this on the binding's close_notify; a bare
			// TCP close makes it fail with "unexpected eof".
			"\nclosed\n")
		if c.rsaKex {
			requireInteropOutput(t, out, "Cipher is "+interopRSAKexSuite)
		}
	}
	checkInteropSigner(t, c, signer, 1)
}

var interopSServerAccept = regexp.MustCompile(`ACCEPT 127\.0\.0\.1:(\d+)`)

// interopSServerSNI matches s_server's -trace of a ClientHello whose
// server_name extension carries localhost.
var interopSServerSNI = regexp.MustCompile(`extension_type=server_name\(0\), length=\d+\n\s+0000 - [0-9a-f -]+\s+\.+localhost`)

func runInteropSServer(t *testing.T, env *interopEnv, c interopCase) {
	server, client := c.keys(t)
	trace := filepath.Join(t.TempDir(), "trace")
	args := []string{"s_server", "-accept", "127.0.0.1:0", "-naccept", strconv.Itoa(c.conns()),
		"-cert", env.files[server].cert, "-key", env.files[server].key, "-alpn", "h2",
		interopOpenSSLVersionFlag(c.version),
		// The decoded ClientHello shows the SNI the binding sent
		// (-servername would switch to a second context that has no ALPN);
		// in a file of its own, as it would interleave with the data.
		"-trace", "-msgfile", trace}
	if c.rsaKex {
		args = append(args, "-cipher", interopRSAKexSuite)
	}
	if client != nil {
		args = append(args, "-Verify", "1", "-verify_return_error", "-CAfile", env.files[client].cert)
	}
	p := startInteropPeer(t, env.openssl, args, true, "")
	port := p.waitFor(t, interopSServerAccept)[1]
	cfg, signer := interopClientConfig(t, c)
	var session []byte
	for i := range c.conns() {
		// s_server sends what it reads on stdin to the connection it is
		// serving: the line goes in once it reports this one up, not while
		// it may still be finishing the last.
		up := func() {
			p.waitCount(t, "CIPHER is ", i+1)
			p.send(t, "pong from openssl\n")
		}
		r, next := interopDial(t, cfg, net.JoinHostPort("127.0.0.1", port), session, "ping from s2n-go\n", up, false)
		session = next
		checkInteropClient(t, c, r, i, "pong from openssl\n", false)
	}
	out := p.wait(t)
	require.Equal(t, c.conns(), strings.Count(out, "ping from s2n-go\n"), "data from the binding:\n%s", out)
	// DONE: s_server read the binding's close_notify (a bare TCP close prints
	// ERROR).
	require.Equal(t, c.conns(), strings.Count(out, "\nDONE\n"), "clean closes:\n%s", out)
	require.NotContains(t, out, "\nERROR\n")
	requireInteropOutput(t, out, "ALPN protocols selected: h2")
	resumed := 0
	if c.resume {
		resumed = 1
	}
	require.Regexp(t, fmt.Sprintf(`\n\s+%d session cache hits\n`, resumed), out)
	msgs, err := os.ReadFile(trace)
	require.NoError(t, err)
	require.Len(t, interopSServerSNI.FindAllString(string(msgs), -1), c.conns(), "SNI localhost in each ClientHello:\n%s", msgs)
	checkInteropSigner(t, c, signer, 1)
}

// --- s2n-tls's s2nc and s2nd -------------------------------------------------------

func s2nUtilsVersionNumber(v ProtocolVersion) string {
	if v == TLS13 {
		return "34"
	}
	return "33"
}

func runInteropS2NC(t *testing.T, env *interopEnv, c interopCase) {
	server, client := c.keys(t)
	cfg, signer := interopServerConfig(t, c)
	// In TLS 1.2 s2nc starts the close (when its stdin ends), and waits for
	// the binding's answer.
	peerCloses := c.version == TLS12
	addr, results := serveResults(t, cfg, c.conns(), func(conn *Conn) interopResult {
		return interopServe(conn, "pong from s2n-go\n", peerCloses)
	})
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	ticket := filepath.Join(t.TempDir(), "ticket")
	for i := range c.conns() {
		// Hostname verification is against the host argument: localhost.
		args := []string{"-f", env.files[server].cert, "-a", "h2,http/1.1", "-c", c.clientPolicy(), "-e"}
		if client != nil {
			args = append(args, "-l", env.files[client].cert, "-k", env.files[client].key)
		}
		if c.resume {
			if i == 0 {
				args = append(args, "--ticket-out", ticket)
			} else {
				args = append(args, "--ticket-in", ticket)
			}
		}
		args = append(args, "localhost", port)
		// Echo mode ends on stdin EOF: in TLS 1.3 stdin stays open and the
		// binding's close_notify ends the run; in TLS 1.2 stdin ends once
		// the reply is in.
		p := startInteropPeer(t, env.s2nc, args, true, "")
		p.send(t, "ping from s2nc\n")
		if peerCloses {
			p.waitCount(t, "pong from s2n-go\n", 1)
			require.NoError(t, p.stdin.Close())
		}
		out := p.wait(t)
		checkInteropServer(t, c, <-results, i, "ping from s2nc\n", peerCloses)
		requireInteropOutput(t, out,
			"CONNECTED:",
			"pong from s2n-go\n",
			"Actual protocol version: "+s2nUtilsVersionNumber(c.version)+"\n",
			"Application protocol: h2\n")
		// s2nc exits 0 either way, but says so when the peer closed without
		// close_notify.
		require.NotContains(t, out, "Connection closed by peer")
		if c.rsaKex {
			requireInteropOutput(t, out, "Cipher negotiated: "+interopRSAKexSuite+"\n")
		}
		if client != nil {
			requireInteropOutput(t, out, "Client signature negotiated: ")
		}
		if c.resume && i == 1 {
			requireInteropOutput(t, out, "Resumed session\n")
		} else {
			require.NotContains(t, out, "Resumed session")
		}
	}
	checkInteropSigner(t, c, signer, 1)
}

var interopS2NDListening = regexp.MustCompile(`Listening on 127\.0\.0\.1:(\d+)`)

// interopFreePort returns a loopback port that was free a moment ago, for peers
// that cannot listen on port 0 and report it.
func interopFreePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	require.NoError(t, err)
	return port
}

// startInteropS2ND starts s2n-tls's s2nd with args on 127.0.0.1, its stdin
// a pipe, and waits until it listens. s2nd cannot listen on port 0: it gets
// a port that was free a moment ago, and another try if something took it
// in between.
func startInteropS2ND(t *testing.T, env *interopEnv, args []string) (p *interopProc, port string) {
	t.Helper()
	for try := 1; ; try++ {
		port = interopFreePort(t)
		p = startInteropPeer(t, env.s2nd, append(args, "127.0.0.1", port), true, "")
		if p.watch(interopS2NDListening.MatchString) {
			return p, port
		}
		out := p.out.String()
		require.True(t, try < 3 && strings.Contains(out, "bind error"), "s2nd did not start:\n%s", out)
	}
}

func runInteropS2ND(t *testing.T, env *interopEnv, c interopCase) {
	server, client := c.keys(t)
	args := []string{
		"-s", // self-service blinding: no 10-30 s sleep after a failure
		"--max-conns=" + strconv.Itoa(c.conns()), "-c", c.serverPolicy(),
		"--cert", env.files[server].cert, "--key", env.files[server].key, "--alpn", "h2"}
	if client != nil {
		args = append(args, "-m", "-t", env.files[client].cert)
	}
	p, port := startInteropS2ND(t, env, args)
	cfg, signer := interopClientConfig(t, c)
	var session []byte
	for i := range c.conns() {
		// As with s_server: stdin goes to the connection being served.
		up := func() {
			p.waitCount(t, "CONNECTED:", i+1)
			p.send(t, "pong from s2nd\n")
		}
		r, next := interopDial(t, cfg, net.JoinHostPort("127.0.0.1", port), session, "ping from s2n-go\n", up, false)
		session = next
		checkInteropClient(t, c, r, i, "pong from s2nd\n", false)
	}
	// s2nd exits 0 after its last connection only if every one closed
	// cleanly: its echo loop treats a read error, including a close without
	// close_notify, as fatal.
	out := p.wait(t)
	require.Equal(t, c.conns(), strings.Count(out, "ping from s2n-go\n"), "data from the binding:\n%s", out)
	require.Equal(t, c.conns(), strings.Count(out, "Server name: localhost\n"), "SNI:\n%s", out)
	require.Equal(t, c.conns(), strings.Count(out, "Application protocol: h2\n"), "ALPN:\n%s", out)
	require.Equal(t, c.conns(), strings.Count(out, "Actual protocol version: "+s2nUtilsVersionNumber(c.version)+"\n"), "version:\n%s", out)
	if client != nil {
		requireInteropOutput(t, out, "Client signature negotiated: ")
	}
	if c.rsaKex {
		requireInteropOutput(t, out, "Cipher negotiated: "+interopRSAKexSuite+"\n")
	}
	require.Equal(t, map[bool]int{true: 1, false: 0}[c.resume], strings.Count(out, "Resumed session\n"), "resumption:\n%s", out)
	checkInteropSigner(t, c, signer, 1)
}

// TestInteropCloseWrite checks CloseWrite's contract against crypto/tls. In
// TLS 1.3, reading goes on after CloseWrite, up to the peer's close_notify
// (io.EOF). TLS 1.2 has no half-close: CloseWrite refuses and sends
// nothing, and the connection goes on as before, closed with Close.
func TestInteropCloseWrite(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, c := range []interopCase{{name: "tls13", version: TLS13}, {name: "tls12", version: TLS12}} {
		t.Run(c.name, func(t *testing.T) {
			goCfg := interopGoConfig(c)
			goCfg.Certificates = []tls.Certificate{goCert(ec)}
			addr, served := serveGoTLS(t, goCfg, 1, func(conn *tls.Conn) error {
				conn.SetDeadline(time.Now().Add(interopTimeout))
				// Echo to the binding's close_notify, then send ours.
				got, err := interopReadLine(conn)
				if err == nil {
					_, err = io.WriteString(conn, got)
				}
				if err == nil {
					if _, end := interopReadToEnd(conn); end != io.EOF {
						err = fmt.Errorf("crypto/tls server: want io.EOF, got %v", end)
					}
				}
				if err == nil {
					err = conn.CloseWrite()
				}
				return err
			})
			cfg, _ := interopClientConfig(t, c)
			raw, err := net.DialTimeout("tcp", addr, interopTimeout)
			require.NoError(t, err)
			conn := Client(raw, cfg, "localhost")
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(interopTimeout))
			require.NoError(t, conn.Handshake())
			require.Equal(t, c.version, conn.HandshakeInfo().Version)
			if c.version == TLS12 {
				err := conn.CloseWrite()
				var se *Error
				require.ErrorAs(t, err, &se, "CloseWrite on TLS 1.2")
				// Nothing was sent: the connection still carries data.
				_, err = io.WriteString(conn, "still open\n")
				require.NoError(t, err)
				got, err := interopReadLine(conn)
				require.NoError(t, err)
				require.Equal(t, "still open\n", got)
				require.NoError(t, conn.Close(), "Close sends close_notify")
				require.NoError(t, <-served)
				return
			}
			_, err = io.WriteString(conn, "half closed next\n")
			require.NoError(t, err)
			got, err := interopReadLine(conn)
			require.NoError(t, err)
			require.Equal(t, "half closed next\n", got)
			require.NoError(t, conn.CloseWrite())
			n, err := conn.Read(make([]byte, 16))
			require.Zero(t, n)
			require.Equal(t, io.EOF, err, "Read after CloseWrite ends at the peer's close_notify")
			require.NoError(t, <-served)
		})
	}
}
