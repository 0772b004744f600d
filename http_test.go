package s2n

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// seenTLS is what a handler saw of a request: its protocol and the fields
// of r.TLS the tests check.
type seenTLS struct {
	proto      string
	protoMajor int
	remote     string
	version    uint16
	suite      uint16
	alpn       string
	serverName string
	body       string
}

// recordingHandler answers every request with a summary of it and records
// what it saw.
type recordingHandler struct {
	mu   sync.Mutex
	seen []seenTLS
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := seenTLS{proto: r.Proto, protoMajor: r.ProtoMajor, remote: r.RemoteAddr, body: string(body)}
	if r.TLS != nil {
		s.version, s.suite, s.alpn, s.serverName = r.TLS.Version, r.TLS.CipherSuite, r.TLS.NegotiatedProtocol, r.TLS.ServerName
	}
	h.mu.Lock()
	h.seen = append(h.seen, s)
	h.mu.Unlock()
	fmt.Fprintf(w, "%s alpn=%q tls=%v", r.Proto, s.alpn, r.TLS != nil)
}

func (h *recordingHandler) take() []seenTLS {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.seen
	h.seen = nil
	return s
}

// lockedBuffer collects a server's error log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// httpServer is ServeHTTP running on a loopback listener.
type httpServer struct {
	srv    *http.Server
	url    string // https://localhost:port
	port   string
	served chan error
	log    *lockedBuffer
}

func startHTTPServer(t *testing.T, cfg *Config, h http.Handler) *httpServer {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	s := &httpServer{served: make(chan error, 1), log: &lockedBuffer{}}
	s.port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	s.url = "https://localhost:" + s.port
	s.srv = &http.Server{Handler: h, ErrorLog: log.New(s.log, "", 0)}
	go func() { s.served <- ServeHTTP(s.srv, l) }()
	t.Cleanup(func() {
		s.srv.Close()
		<-s.served
		if out := s.log.String(); out != "" {
			t.Logf("server log:\n%s", out)
		}
	})
	return s
}

// shutdown shuts the server down gracefully and checks ServeHTTP's result.
func (s *httpServer) shutdown(t *testing.T) {
	t.Helper()
	require.NoError(t, s.srv.Shutdown(context.Background()))
	require.ErrorIs(t, <-s.served, http.ErrServerClosed)
	s.served <- http.ErrServerClosed // for the cleanup
}

func h1Only() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	return &p
}

func h2Only() *http.Protocols {
	var p http.Protocols
	p.SetHTTP2(true)
	return &p
}

// oneShotBody is a request body that cannot be read twice (no GetBody).
type oneShotBody struct{ io.Reader }

// doRequests sends a POST whose body has no GetBody, then two GETs, and
// returns the responses' bodies and TLS states.
func doRequests(t *testing.T, c *http.Client, url string) (wantProto string, states []*tls.ConnectionState) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/post", oneShotBody{strings.NewReader("posted body")})
	require.NoError(t, err)
	require.Nil(t, req.GetBody)
	reqs := []*http.Request{req}
	for range 2 {
		req, err := http.NewRequest(http.MethodGet, url+"/get", nil)
		require.NoError(t, err)
		reqs = append(reqs, req)
	}
	for _, req := range reqs {
		resp, err := c.Do(req)
		require.NoError(t, err, "%s %s", req.Method, req.URL)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		if wantProto == "" {
			wantProto = resp.Proto
		}
		require.Equal(t, wantProto, resp.Proto, "every request on the same version")
		require.True(t, strings.HasPrefix(string(body), resp.Proto+" "), "server saw %q", body)
		states = append(states, resp.TLS)
	}
	return wantProto, states
}

// TestHTTPServeAndTransport: ServeHTTP serves HTTP/1.1 and HTTP/2 to
// net/http's own client (crypto/tls) and to the binding's Transport, which
// speaks either by ALPN; the handler sees r.TLS filled, and each client
// sends its three requests over one connection.
func TestHTTPServeAndTransport(t *testing.T) {
	ec, _, _ := testKeys(t)
	h := &recordingHandler{}
	srv := startHTTPServer(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}, "h2", "http/1.1"), h)

	goTLS := func(p *http.Protocols, alpn ...string) http.RoundTripper {
		cfg := goTLSClientConfig(ec)
		cfg.NextProtos = alpn
		return &http.Transport{TLSClientConfig: cfg, Protocols: p}
	}
	s2nTransport := func(alpn ...string) http.RoundTripper {
		return &Transport{Config: clientConfig(t, "default_tls13", ec, alpn...)}
	}
	cases := []struct {
		name   string
		client http.RoundTripper
		major  int
		alpn   string
	}{
		{"crypto-tls/http1.1", goTLS(h1Only(), "http/1.1"), 1, "http/1.1"},
		{"crypto-tls/h2", goTLS(h2Only()), 2, "h2"},
		{"s2n/http1.1", s2nTransport("http/1.1"), 1, "http/1.1"},
		{"s2n/h2", s2nTransport("h2", "http/1.1"), 2, "h2"},
		{"s2n/no-alpn", s2nTransport(), 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: tc.client}
			defer c.CloseIdleConnections()
			proto, states := doRequests(t, c, srv.url)
			require.Equal(t, fmt.Sprintf("HTTP/%d", tc.major), strings.TrimSuffix(proto, ".0")[:6])
			seen := h.take()
			require.Len(t, seen, 3)
			for i, s := range seen {
				require.Equal(t, tc.major, s.protoMajor, "request %d", i)
				require.Equal(t, uint16(tls.VersionTLS13), s.version, "request %d", i)
				require.NotZero(t, s.suite, "request %d", i)
				require.Equal(t, tc.alpn, s.alpn, "request %d", i)
				require.Equal(t, "localhost", s.serverName, "request %d", i)
				require.Equal(t, seen[0].remote, s.remote, "request %d: the connection is reused", i)
			}
			require.Equal(t, "posted body", seen[0].body)
			for i, st := range states {
				require.NotNil(t, st, "request %d: resp.TLS", i)
				require.Equal(t, seen[i].suite, st.CipherSuite, "both ends agree on the suite")
				require.Equal(t, tc.alpn, st.NegotiatedProtocol)
				require.Equal(t, uint16(tls.VersionTLS13), st.Version)
			}
		})
	}
	srv.shutdown(t)
}

// TestHTTPTransportToGoServer: the binding's Transport against net/http's
// own HTTPS server (crypto/tls), in both versions.
func TestHTTPTransportToGoServer(t *testing.T) {
	ec, _, _ := testKeys(t)
	cert, err := tls.X509KeyPair(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	h := &recordingHandler{}
	ts := httptest.NewUnstartedServer(h)
	ts.EnableHTTP2 = true
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	ts.StartTLS()
	defer ts.Close()
	url := "https://localhost:" + strconv.Itoa(ts.Listener.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		alpn  []string
		major int
		want  string
	}{
		{[]string{"h2", "http/1.1"}, 2, "h2"},
		{[]string{"http/1.1"}, 1, "http/1.1"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			c := &http.Client{Transport: &Transport{Config: clientConfig(t, "default_tls13", ec, tc.alpn...)}}
			defer c.CloseIdleConnections()
			_, states := doRequests(t, c, url)
			seen := h.take()
			require.Len(t, seen, 3)
			for i, s := range seen {
				require.Equal(t, tc.major, s.protoMajor, "request %d", i)
				require.Equal(t, tc.want, s.alpn, "request %d", i)
				require.Equal(t, "localhost", s.serverName, "request %d: SNI from the URL", i)
				require.Equal(t, seen[0].remote, s.remote, "request %d: the connection is reused", i)
				require.Equal(t, uint16(tls.VersionTLS13), states[i].Version)
				require.Equal(t, s.suite, states[i].CipherSuite)
			}
			require.Equal(t, "posted body", seen[0].body)
		})
	}
}

// TestHTTPShutdownWaitsForHTTP2: srv.Shutdown counts an HTTP/2 connection
// served by ServeHTTP as srv's own: while a request is in flight it does not
// finish (its context ends first), the request completes, and then Shutdown
// returns.
func TestHTTPShutdownWaitsForHTTP2(t *testing.T) {
	ec, _, _ := testKeys(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var states []http.ConnState
	var statesMu sync.Mutex
	srv := startHTTPServer(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}, "h2", "http/1.1"),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			io.WriteString(w, r.Proto)
		}))
	srv.srv.ConnState = func(_ net.Conn, s http.ConnState) {
		statesMu.Lock()
		states = append(states, s)
		statesMu.Unlock()
	}
	tr := &Transport{Config: clientConfig(t, "default_tls13", ec, "h2")}
	defer tr.CloseIdleConnections()
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get(srv.url + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{string(b), err}
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.srv.Shutdown(ctx) }()
	require.ErrorIs(t, <-srv.served, http.ErrServerClosed, "ServeHTTP returns once Shutdown has closed the listener")
	srv.served <- http.ErrServerClosed // for the cleanup
	cancel()
	require.ErrorIs(t, <-shutdown, context.Canceled, "Shutdown waited for the HTTP/2 request in flight")

	close(release)
	r := <-got
	require.NoError(t, r.err)
	require.Equal(t, "HTTP/2.0", r.body)
	require.NoError(t, srv.srv.Shutdown(context.Background()), "the connection closed after its last request")
	statesMu.Lock()
	defer statesMu.Unlock()
	require.Equal(t, http.StateNew, states[0], "from srv: %v", states)
	require.Contains(t, states, http.StateActive, "from x/net/http2: %v", states)
	require.Equal(t, http.StateClosed, states[len(states)-1], "from srv: %v", states)
}

// TestHTTPServeCurl: curl (OpenSSL) asks for HTTP/1.1 and for HTTP/2 and
// gets what it asked for.
func TestHTTPServeCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	require.NoError(t, err, "curl is a peer of this test: apt-get install curl (scripts/test does)")
	ec, _, _ := testKeys(t)
	h := &recordingHandler{}
	srv := startHTTPServer(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}, "h2", "http/1.1"), h)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, ec.certPEM, 0o600))
	for _, tc := range []struct {
		flag, version, proto, alpn string
	}{
		{"--http1.1", "1.1", "HTTP/1.1", "http/1.1"},
		{"--http2", "2", "HTTP/2.0", "h2"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			out, err := exec.Command(curl, "-sS", tc.flag, "--cacert", ca,
				"--resolve", "localhost:"+srv.port+":127.0.0.1",
				"-w", "\ncurl-http-version=%{http_version}", srv.url+"/curl").CombinedOutput()
			require.NoError(t, err, "curl: %s", out)
			body, version, ok := strings.Cut(string(out), "\ncurl-http-version=")
			require.True(t, ok, "curl output: %s", out)
			require.Equal(t, tc.version, version, "the version curl reports")
			require.Equal(t, fmt.Sprintf("%s alpn=%q tls=true", tc.proto, tc.alpn), body)
			seen := h.take()
			require.Len(t, seen, 1)
			require.Equal(t, tc.alpn, seen[0].alpn)
			require.Equal(t, "localhost", seen[0].serverName)
			require.Equal(t, uint16(tls.VersionTLS13), seen[0].version)
		})
	}
	srv.shutdown(t)
}

// TestHTTPServeHTTP2Off: a server whose Protocols leave HTTP/2 out closes
// the connections that chose "h2" and says so in its log; HTTP/1.1 works.
func TestHTTPServeHTTP2Off(t *testing.T) {
	ec, _, _ := testKeys(t)
	h := &recordingHandler{}
	l, err := Listen("tcp", "127.0.0.1:0", signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}, "h2", "http/1.1"))
	require.NoError(t, err)
	logs := &lockedBuffer{}
	s := &http.Server{Handler: h, Protocols: h1Only(), ErrorLog: log.New(logs, "", 0)}
	served := make(chan error, 1)
	go func() { served <- ServeHTTP(s, l) }()
	url := "https://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)

	h2 := &Transport{Config: clientConfig(t, "default_tls13", ec, "h2")}
	_, err = (&http.Client{Transport: h2}).Get(url)
	require.Error(t, err, "the server closed the h2 connection")
	require.Contains(t, logs.String(), "it chose h2 and srv does not serve HTTP/2")
	h1 := &Transport{Config: clientConfig(t, "default_tls13", ec, "http/1.1")}
	resp, err := (&http.Client{Transport: h1}).Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 1, resp.ProtoMajor)
	h2.CloseIdleConnections()
	h1.CloseIdleConnections()
	require.NoError(t, s.Shutdown(context.Background()))
	require.ErrorIs(t, <-served, http.ErrServerClosed)
}
