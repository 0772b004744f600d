package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
)

// server accepts connections and runs one goroutine per connection: the
// handshake (whose key operations may be away), then the mode's exchange.
type server struct {
	opts *options
	cfg  *s2n.Config
	key  *cli.Key
	log  *cli.SyncWriter // status lines, stderr
	out  *cli.SyncWriter // what clients send, stdout
	web  *web            // --https only

	served atomic.Int64 // completed handshakes
	failed atomic.Int64 // failed handshakes
	wg     sync.WaitGroup
}

func newServer(o *options, cfg *s2n.Config, key *cli.Key, stdout, stderr io.Writer) *server {
	return &server{opts: o, cfg: cfg, key: key, log: cli.NewSyncWriter(stderr), out: cli.NewSyncWriter(stdout)}
}

// session is what s2nd reports about one connection.
type session struct {
	id        int
	remote    string
	state     cli.State // captured after the handshake
	handshake time.Duration
	in, out   atomic.Int64
}

// serve accepts up to --max-conns connections (or until ctx ends), then
// waits for the ones still open.
func (s *server) serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if s.opts.https {
		s.web = startWeb(s, l.Addr())
		defer s.web.stop()
	}
	var err error
	for id := 1; s.opts.maxConns == 0 || id <= s.opts.maxConns; id++ {
		raw, aerr := l.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("accept: %w", aerr)
			}
			break
		}
		s.wg.Add(1)
		go s.handle(ctx, id, raw)
	}
	l.Close()
	s.wg.Wait()
	return err
}

// handle runs one connection to its end.
func (s *server) handle(ctx context.Context, id int, raw net.Conn) {
	defer s.wg.Done()
	c := s2n.Server(raw, s.cfg)
	defer c.Close()
	// Ending s2nd (a signal) ends its connections, wherever they are.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sess := &session{id: id, remote: raw.RemoteAddr().String()}
	if err := s.handshake(ctx, c, sess); err != nil {
		s.failed.Add(1)
		s.log.Printf("s2nd: #%d %s handshake failed: %v", id, sess.remote, err)
		return
	}
	s.served.Add(1)
	if s.web != nil {
		s.web.serve(c, sess)
		return
	}
	err := s.exchange(c, sess)
	s.report(sess, err)
}

func (s *server) handshake(ctx context.Context, c *s2n.Conn, sess *session) error {
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		return err
	}
	sess.handshake = time.Since(start)
	sess.state = cli.StateOf(c)
	return nil
}

// exchange reads what the client sends until it closes, printing it or
// sending it back.
func (s *server) exchange(c *s2n.Conn, sess *session) error {
	var dst io.Writer = s.out
	if s.opts.echo {
		dst = &countingWriter{w: c, n: &sess.out}
	}
	_, err := io.Copy(dst, &countingReader{r: c, n: &sess.in})
	return err
}

// report prints the connection's summary line.
func (s *server) report(sess *session, err error) {
	line := fmt.Sprintf("s2nd: #%d %s %s handshake=%v in=%d out=%d", sess.id, sess.remote,
		cli.Summary(sess.state), sess.handshake.Round(100*time.Microsecond), sess.in.Load(), sess.out.Load())
	if err != nil && !errors.Is(err, net.ErrClosed) {
		line += fmt.Sprintf(" error=%q", err.Error())
	}
	s.log.Printf("%s", line)
}

// totals is the final line: connections and the key's statistics.
func (s *server) totals() string {
	t := fmt.Sprintf("done: %d connection%s, %d failed handshake%s", s.served.Load(), cli.Plural(s.served.Load()),
		s.failed.Load(), cli.Plural(s.failed.Load()))
	if signer := s.key.Signer(); signer != nil {
		t += "; server key: " + signer.StatsString()
	}
	return t
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
