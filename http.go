//go:build cgo

package s2n

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"sync"
	"time"
	"weak"

	"golang.org/x/net/http2"
	"golang.org/x/net/idna"
)

// HTTP over the binding. net/http speaks HTTP/2 by itself only on a
// *tls.Conn, so both directions go through golang.org/x/net/http2 for the
// connections whose ALPN chose "h2".

// nextProtoUnencryptedHTTP2 is the srv.TLSNextProto key under which
// net/http hands a connection carrying HTTP/2 without crypto/tls to the
// HTTP/2 server, wrapped in a *tls.Conn whose NetConn has an
// UnencryptedNetConn method (net/http and x/net/http2 agree on both).
const nextProtoUnencryptedHTTP2 = "unencrypted_http2"

// ServeHTTP serves HTTP/1.1 and HTTP/2 with srv on l, a listener from
// [Listen] or [NewListener], as srv.ServeTLS would with crypto/tls. It
// returns what srv.Serve returns: http.ErrServerClosed after srv.Shutdown or
// srv.Close.
//
// Each connection's handshake runs on a goroutine of its own, bounded (as
// net/http bounds a TLS handshake) by the shortest of srv.ReadHeaderTimeout,
// ReadTimeout and WriteTimeout that is set. Then the connection goes to srv:
// those whose ALPN chose "h2" speak HTTP/2 through golang.org/x/net/http2,
// the others HTTP/1.1. Either way srv owns it: srv.Handler serves it,
// Request.TLS is [Conn.ConnectionState], srv.Shutdown sends HTTP/2 GOAWAY
// and waits for the requests in flight, srv.Close closes it. A handshake
// that fails is logged to srv.ErrorLog (or the log package) as net/http
// logs one. Connections l returns that are not a *Conn are handed to srv
// as they are.
//
// HTTP/2 needs "h2" in the server Config's ALPN list, which ServeHTTP does
// not change: cfg.SetProtocolPreferences([]string{"h2", "http/1.1"}).
// Without ALPN, clients speak HTTP/1.1.
//
// srv.ConnState sees an HTTP/2 connection through two values, as two
// packages report on it: net/http reports StateNew and StateClosed with the
// net.Conn srv accepted (not a *Conn), x/net/http2 StateActive and
// StateIdle with the *Conn it serves.
//
// The first time it serves srv, ServeHTTP configures srv for this (later
// calls, for more listeners, find it done): unless srv has an HTTP/2 server
// already, it installs one with http2.ConfigureServer; it adds
// UnencryptedHTTP2 to srv.Protocols and wraps
// srv.TLSNextProto["unencrypted_http2"], the hand-off net/http uses for
// HTTP/2 without crypto/tls, so that it serves the Conns that chose "h2";
// prior-knowledge cleartext HTTP/2 (h2c) that srv did not accept before is
// still refused. When srv.Protocols (or a TLSNextProto without "h2") turns
// HTTP/2 off, connections that chose "h2" are closed.
func ServeHTTP(srv *http.Server, l net.Listener) error {
	h2, err := configureHTTPServer(srv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return srv.Serve(&httpListener{
		Listener: l,
		srv:      srv,
		h2:       h2,
		ctx:      ctx,
		cancel:   cancel,
		ready:    make(chan acceptResult),
	})
}

// httpServers records the servers ServeHTTP has configured and whether
// they serve HTTP/2, so that a second call never writes to a server already
// serving. Entries go when their server is garbage.
var httpServers struct {
	sync.Mutex
	h2 map[weak.Pointer[http.Server]]bool
}

func configureHTTPServer(srv *http.Server) (h2 bool, err error) {
	if srv == nil {
		return false, usageError(nameInvalidArg, "ServeHTTP: nil *http.Server")
	}
	httpServers.Lock()
	defer httpServers.Unlock()
	key := weak.Make(srv)
	if h2, ok := httpServers.h2[key]; ok {
		return h2, nil
	}
	p := serverProtocols(srv)
	if p.HTTP2() {
		if err := enableHTTP2Handoff(srv, p); err != nil {
			return false, err
		}
	}
	if httpServers.h2 == nil {
		httpServers.h2 = make(map[weak.Pointer[http.Server]]bool)
	}
	httpServers.h2[key] = p.HTTP2()
	runtime.AddCleanup(srv, func(k weak.Pointer[http.Server]) {
		httpServers.Lock()
		delete(httpServers.h2, k)
		httpServers.Unlock()
	}, key)
	return p.HTTP2(), nil
}

// serverProtocols is the set of protocols srv serves, as net/http decides
// it when srv.Protocols is nil.
func serverProtocols(srv *http.Server) http.Protocols {
	if srv.Protocols != nil {
		return *srv.Protocols
	}
	var p http.Protocols
	p.SetHTTP1(true)
	_, hasH2 := srv.TLSNextProto["h2"]
	p.SetHTTP2(srv.TLSNextProto == nil || hasH2)
	return p
}

// enableHTTP2Handoff makes srv pass the connections that chose "h2" (which
// reach it as *h2Conn) to its HTTP/2 server, unwrapped so that HTTP/2 sees
// the Conn and its ConnectionState.
func enableHTTP2Handoff(srv *http.Server, p http.Protocols) error {
	if _, ok := srv.TLSNextProto[nextProtoUnencryptedHTTP2]; !ok {
		if err := http2.ConfigureServer(srv, &http2.Server{}); err != nil {
			return err
		}
	}
	inner := srv.TLSNextProto[nextProtoUnencryptedHTTP2]
	if inner == nil {
		return errors.New("s2n: ServeHTTP: this net/http and golang.org/x/net/http2 have no hand-off of HTTP/2 without crypto/tls (TLSNextProto[\"unencrypted_http2\"])")
	}
	allowH2C := p.UnencryptedHTTP2()
	srv.TLSNextProto[nextProtoUnencryptedHTTP2] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		var nc net.Conn
		if u, ok := c.NetConn().(interface{ UnencryptedNetConn() net.Conn }); ok {
			nc = u.UnencryptedNetConn()
		}
		if hc, ok := nc.(*h2Conn); ok {
			inner(hs, tls.Client(h2Handoff{hc.conn}, nil), h)
			return
		}
		if allowH2C {
			inner(hs, c, h)
		}
		// Otherwise refused: srv closes the connection when this returns.
	}
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = &p
	return nil
}

// h2Conn carries to net/http a Conn whose ALPN chose "h2". It has only
// net.Conn's methods, no ConnectionState: net/http then takes it for a
// connection without TLS, reads the HTTP/2 preface and hands it over
// through TLSNextProto["unencrypted_http2"], where the wrapper installed by
// enableHTTP2Handoff gives HTTP/2 the Conn itself.
type h2Conn struct {
	net.Conn
	conn *Conn
}

// h2Handoff is what the HTTP/2 server unwraps from the *tls.Conn it is
// handed: the Conn, which has ConnectionState.
type h2Handoff struct{ *Conn }

func (h h2Handoff) UnencryptedNetConn() net.Conn { return h.Conn }

// httpListener runs the handshakes of the connections its listener accepts
// and hands srv those that succeeded, h2 ones as *h2Conn.
type httpListener struct {
	net.Listener
	srv       *http.Server
	h2        bool
	ctx       context.Context // ends at Close: aborts handshakes in progress
	cancel    context.CancelFunc
	ready     chan acceptResult
	startOnce sync.Once
	closeOnce sync.Once
	closeErr  error
}

type acceptResult struct {
	c   net.Conn
	err error
}

func (l *httpListener) Accept() (net.Conn, error) {
	l.startOnce.Do(func() { go l.acceptLoop() })
	select {
	case r := <-l.ready:
		return r.c, r.err
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// acceptLoop accepts until Close. Errors go to Accept, which decides (as
// srv.Serve does) whether to try again.
func (l *httpListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.ready <- acceptResult{err: err}:
				continue
			case <-l.ctx.Done():
				return
			}
		}
		go l.handshake(c)
	}
}

func (l *httpListener) handshake(c net.Conn) {
	conn, ok := c.(*Conn)
	if !ok {
		l.deliver(c)
		return
	}
	ctx := l.ctx
	if d := handshakeTimeout(l.srv); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		l.logf("http: TLS handshake error from %s: %v", conn.RemoteAddr(), err)
		conn.Close()
		return
	}
	if conn.negotiatedProtocol() != http2.NextProtoTLS {
		l.deliver(conn)
		return
	}
	if !l.h2 {
		l.logf("http: closing connection from %s: it chose h2 and srv does not serve HTTP/2", conn.RemoteAddr())
		conn.Close()
		return
	}
	l.deliver(&h2Conn{Conn: conn, conn: conn})
}

func (l *httpListener) deliver(c net.Conn) {
	select {
	case l.ready <- acceptResult{c: c}:
	case <-l.ctx.Done():
		c.Close()
	}
}

func (l *httpListener) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

func (l *httpListener) logf(format string, args ...any) {
	if l.srv.ErrorLog != nil {
		l.srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// handshakeTimeout is net/http's bound on a TLS handshake: the shortest of
// the server's read-header, read and write timeouts that is set.
func handshakeTimeout(srv *http.Server) time.Duration {
	var d time.Duration
	for _, v := range []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout} {
		if v > 0 && (d == 0 || v < d) {
			d = v
		}
	}
	return d
}

// negotiatedProtocol is the ALPN protocol of a Conn whose handshake is done.
func (c *Conn) negotiatedProtocol() string {
	if s := c.state.Load(); s != nil {
		return s.facts.tls.NegotiatedProtocol
	}
	return ""
}

// Transport is an http.RoundTripper for https URLs over the binding. Each
// connection speaks the HTTP version its ALPN chose: HTTP/2 (through
// golang.org/x/net/http2) when the server picked "h2", HTTP/1.1 otherwise
// (through an http.Transport). It keeps connections for reuse, closes those
// idle for 90 seconds, and remembers per host which version the last new
// connection spoke, so a host that speaks HTTP/1.1 is dialed by the
// HTTP/1.1 transport from then on. When a new connection chooses the
// other version, the request goes again on that connection: a body without
// Request.GetBody can go again if nothing was read of it, and otherwise the
// request fails with an error saying so. Responses have TLS set from
// [Conn.ConnectionState] in both versions.
//
// Use one Transport for many requests, from any number of goroutines, and
// call CloseIdleConnections (http.Client.CloseIdleConnections does) when
// done with it. Proxies are not supported: connections go to the URL's
// host.
type Transport struct {
	// Config is the client Config of every connection: its trust store
	// verifies servers (the server name is the URL's host), and its ALPN
	// list must offer "h2" for HTTP/2, for example
	// cfg.SetProtocolPreferences([]string{"h2", "http/1.1"}). Set it before
	// the first request.
	Config *Config

	once sync.Once
	h1   *http.Transport
	h2   *http2.Transport

	mu    sync.Mutex
	proto map[string]string              // "host:port" -> ALPN of its last new connection
	h2cc  map[string][]*http2.ClientConn // HTTP/2 connections by "host:port"
	fresh map[string][]*Conn             // HTTP/1.1 connections dialed by the HTTP/2 side, for h1
}

// errH2Dialed: a connection the HTTP/1.1 transport dialed chose "h2"; it
// went to the HTTP/2 connections and the request is tried again there.
var errH2Dialed = errors.New("s2n: new connection chose HTTP/2")

// protocolSwitch: a connection the HTTP/2 side dialed chose HTTP/1.1; req
// is the request as the HTTP/2 transport held it, its body unread.
type protocolSwitch struct{ req *http.Request }

func (*protocolSwitch) Error() string { return "s2n: new connection chose HTTP/1.1" }

func (t *Transport) init() {
	var h1 http.Protocols
	h1.SetHTTP1(true)
	t.h1 = &http.Transport{
		DialTLSContext:        t.dialHTTP1,
		Protocols:             &h1,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	t.h2 = &http2.Transport{ConnPool: h2Pool{t}, IdleConnTimeout: 90 * time.Second}
	t.proto = make(map[string]string)
	t.h2cc = make(map[string][]*http2.ClientConn)
	t.fresh = make(map[string][]*Conn)
}

// RoundTrip sends one request (http.RoundTripper).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.once.Do(t.init)
	if req.URL == nil || req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, usageError(nameInvalidArg, "s2n.Transport serves https URLs only")
	}
	addr := httpsAddr(req.URL)
	defer t.dropFresh(addr)
	for tries := 0; ; tries++ {
		if t.protocol(addr) == "http/1.1" {
			resp, err := t.roundTripHTTP1(req)
			if errors.Is(err, errH2Dialed) && tries < 2 {
				if req, err = rewind(req); err == nil {
					continue
				}
			}
			return resp, err
		}
		resp, err := t.h2.RoundTrip(req)
		var sw *protocolSwitch
		if errors.As(err, &sw) && tries < 2 {
			req = sw.req
			continue
		}
		return resp, err
	}
}

// roundTripHTTP1 sends req over HTTP/1.1 and sets resp.TLS from the Conn
// that carried it, which http.Transport does only for a *tls.Conn.
func (t *Transport) roundTripHTTP1(req *http.Request) (*http.Response, error) {
	var conn *Conn
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		conn, _ = info.Conn.(*Conn)
	}}
	resp, err := t.h1.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if resp != nil {
		resp.Request = req
		if resp.TLS == nil && conn != nil {
			st := conn.ConnectionState()
			resp.TLS = &st
		}
	}
	return resp, err
}

// rewind returns req ready to be sent again after the HTTP/1.1 transport
// failed it before sending anything (and closed its body).
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, fmt.Errorf("s2n: %s now speaks HTTP/2 and the request body cannot be sent again (no Request.GetBody)", req.URL.Host)
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := *req
	r.Body = body
	return &r, nil
}

// CloseIdleConnections closes the connections that carry no request.
func (t *Transport) CloseIdleConnections() {
	t.once.Do(t.init)
	t.h1.CloseIdleConnections()
	var idle []io.Closer
	t.mu.Lock()
	for addr, ccs := range t.h2cc {
		kept := ccs[:0]
		for _, cc := range ccs {
			if st := cc.State(); st.StreamsActive == 0 && st.StreamsReserved == 0 && st.StreamsPending == 0 {
				idle = append(idle, cc)
			} else {
				kept = append(kept, cc)
			}
		}
		t.h2cc[addr] = kept
	}
	for addr, cs := range t.fresh {
		for _, c := range cs {
			idle = append(idle, c)
		}
		delete(t.fresh, addr)
	}
	t.mu.Unlock()
	// Outside the lock: a closing ClientConn calls MarkDead.
	for _, c := range idle {
		c.Close()
	}
}

// dial connects to addr and sorts the connection by its ALPN: an "h2" one
// joins the HTTP/2 connections (and is returned as cc), any other is
// returned as c for HTTP/1.1.
func (t *Transport) dial(ctx context.Context, addr string) (c *Conn, cc *http2.ClientConn, err error) {
	if t.Config == nil {
		return nil, nil, usageError(nameInvalidArg, "s2n.Transport has no Config")
	}
	c, err = DialContext(ctx, "tcp", addr, t.Config)
	if err != nil {
		return nil, nil, err
	}
	if c.negotiatedProtocol() != http2.NextProtoTLS {
		t.mu.Lock()
		t.proto[addr] = "http/1.1"
		t.mu.Unlock()
		return c, nil, nil
	}
	cc, err = t.h2.NewClientConn(c)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	t.mu.Lock()
	t.proto[addr] = http2.NextProtoTLS
	t.h2cc[addr] = append(t.h2cc[addr], cc)
	t.mu.Unlock()
	return nil, cc, nil
}

// dialHTTP1 is the HTTP/1.1 transport's dialer: a connection the HTTP/2
// side dialed and found to speak HTTP/1.1 first, else a new one.
func (t *Transport) dialHTTP1(ctx context.Context, _, addr string) (net.Conn, error) {
	t.mu.Lock()
	if cs := t.fresh[addr]; len(cs) > 0 {
		c := cs[len(cs)-1]
		t.fresh[addr] = cs[:len(cs)-1]
		t.mu.Unlock()
		return c, nil
	}
	t.mu.Unlock()
	c, _, err := t.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errH2Dialed
	}
	return c, nil
}

// dropFresh closes the HTTP/1.1 connections dialed for addr that the
// HTTP/1.1 transport did not take (it had an idle one).
func (t *Transport) dropFresh(addr string) {
	t.mu.Lock()
	cs := t.fresh[addr]
	delete(t.fresh, addr)
	t.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

func (t *Transport) protocol(addr string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.proto[addr]
}

// h2Pool is the HTTP/2 transport's connection pool: the Transport's HTTP/2
// connections, and a new connection when none can take the request.
type h2Pool struct{ t *Transport }

func (p h2Pool) GetClientConn(req *http.Request, addr string) (*http2.ClientConn, error) {
	t := p.t
	t.mu.Lock()
	for _, cc := range t.h2cc[addr] {
		if cc.ReserveNewRequest() {
			t.mu.Unlock()
			return cc, nil
		}
	}
	t.mu.Unlock()
	c, cc, err := t.dial(req.Context(), addr)
	if err != nil {
		return nil, err
	}
	if c != nil {
		t.mu.Lock()
		t.fresh[addr] = append(t.fresh[addr], c)
		t.mu.Unlock()
		return nil, &protocolSwitch{req: req}
	}
	if !cc.ReserveNewRequest() {
		return nil, fmt.Errorf("s2n: new HTTP/2 connection to %s cannot take a request", addr)
	}
	return cc, nil
}

func (p h2Pool) MarkDead(cc *http2.ClientConn) {
	t := p.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for addr, ccs := range t.h2cc {
		for i, c := range ccs {
			if c == cc {
				t.h2cc[addr] = append(ccs[:i], ccs[i+1:]...)
				return
			}
		}
	}
}

// httpsAddr is the "host:port" the transports use for u: the host in ASCII
// (IDNA) and port 443 by default.
func httpsAddr(u *url.URL) string {
	host := u.Hostname()
	if a, err := idna.Lookup.ToASCII(host); err == nil && a != "" {
		host = a
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(host, port)
}
