package main

import (
	"context"
	"html/template"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
)

// web is the --https mode: net/http serves connections whose handshake
// s2nd has already run, so that failed handshakes are reported like in the
// other modes and the page can show the negotiated parameters.
type web struct {
	s    *server
	srv  *http.Server
	l    *handoffListener
	done chan struct{} // closed when Serve returns
}

func startWeb(s *server, addr net.Addr) *web {
	w := &web{s: s, l: newHandoffListener(addr), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.page)
	w.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          log.New(s.log, "s2nd: http: ", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, sessionKey{}, c.(*trackedConn).sess)
		},
	}
	go func() {
		defer close(w.done)
		w.srv.Serve(w.l)
	}()
	return w
}

// stop closes the HTTP server and its connections.
func (w *web) stop() {
	w.srv.Close()
	<-w.done
}

// serve hands a connection to net/http and waits until net/http closes it.
func (w *web) serve(c *s2n.Conn, sess *session) {
	tc := &trackedConn{Conn: c, sess: sess, report: w.s.report, closed: make(chan struct{})}
	if !w.l.offer(tc) {
		tc.Close()
	}
	<-tc.closed
}

type sessionKey struct{}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>s2nd</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.15em 1em .15em 0}td:first-child{color:#555}</style>
</head><body>
<h1>Hello from s2n-tls</h1>
<p>This page came to you over a TLS connection run by s2n-tls from Go.</p>
<h2>Your connection (#{{.ID}}, from {{.Remote}})</h2>
<table>
{{range .Conn}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}<tr><td>handshake time</td><td>{{.Handshake}}</td></tr>
</table>
<h2>This server</h2>
<table>
{{range .Server}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>
</body></html>
`))

// page answers GET / with the connection's parameters and the server's
// offload statistics.
func (w *web) page(rw http.ResponseWriter, r *http.Request) {
	sess, _ := r.Context().Value(sessionKey{}).(*session)
	if sess == nil {
		http.Error(rw, "no TLS session", http.StatusInternalServerError)
		return
	}
	data := struct {
		ID        int
		Remote    string
		Conn      []cli.Field
		Handshake time.Duration
		Server    []cli.Field
	}{sess.id, sess.remote, cli.Fields(sess.state, "server"), sess.handshake.Round(10 * time.Microsecond), w.serverFields()}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(rw, data); err != nil {
		w.s.log.Printf("s2nd: #%d page: %v", sess.id, err)
	}
}

func (w *web) serverFields() []cli.Field {
	key := w.s.key
	offload := "none: s2n holds the key"
	if signer := key.Signer(); signer != nil {
		offload = signer.StatsString()
	}
	stats := s2n.Stats()
	return []cli.Field{
		{Name: "certificate", Value: cli.CertSummary(key.Leaf)},
		{Name: "private key", Value: key.Describe()},
		{Name: "key offload", Value: offload},
		{Name: "connections", Value: itoa(w.s.served.Load()) + " served, " + itoa(w.s.failed.Load()) + " failed handshakes"},
		{Name: "pending key operations", Value: itoa(stats.PendingOps)},
		{Name: "security policy", Value: w.s.opts.tls.Ciphers},
		{Name: "s2n-tls", Value: s2n.Version()},
		{Name: "libcrypto", Value: s2n.Libcrypto()},
	}
}

// trackedConn is a connection handed to net/http: it counts bytes, and its
// Close reports the connection and wakes the goroutine that owns it.
type trackedConn struct {
	*s2n.Conn
	sess   *session
	report func(*session, error)
	once   sync.Once
	closed chan struct{}
}

func (t *trackedConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.sess.in.Add(int64(n))
	return n, err
}

func (t *trackedConn) Write(p []byte) (int, error) {
	n, err := t.Conn.Write(p)
	t.sess.out.Add(int64(n))
	return n, err
}

func (t *trackedConn) Close() error {
	var err error
	t.once.Do(func() {
		t.report(t.sess, nil)
		err = t.Conn.Close()
		close(t.closed)
	})
	return err
}

// handoffListener is a net.Listener fed by s2nd's accept loop.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// offer hands c to Accept; false once the listener is closed.
func (l *handoffListener) offer(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
