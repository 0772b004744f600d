package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
)

// server accepts connections and serves them one after the other, or with
// --parallelize one goroutine each: the handshake (whose key operations may
// be away), then the mode's exchange.
type server struct {
	opts  *options
	cfg   *s2n.Config
	key   *cli.Key
	log   *cli.SyncWriter // stderr: s2nd's own lines (--verbose) and errors
	out   *cli.SyncWriter // stdout: s2n-tls's s2nd's status lines, what clients send
	web   *web            // --https only
	stdin <-chan []byte   // chunks of stdin, closed at its end; nil: not forwarded

	served atomic.Int64 // completed handshakes
	failed atomic.Int64 // failed handshakes
	wg     sync.WaitGroup
}

func newServer(o *options, cfg *s2n.Config, key *cli.Key, stdin io.Reader, stdout, stderr io.Writer) *server {
	s := &server{opts: o, cfg: cfg, key: key, log: cli.NewSyncWriter(stderr), out: cli.NewSyncWriter(stdout)}
	if stdin != nil && !o.echo && !o.https && !o.negotiate {
		s.stdin = readChunks(stdin)
	}
	return s
}

// logf prints one of s2nd's own lines, with --verbose only.
func (s *server) logf(format string, args ...any) {
	if s.opts.tls.Verbose {
		s.log.Printf(format, args...)
	}
}

// readChunks reads r in a goroutine of its own (a read from a terminal or
// a pipe cannot be interrupted) and hands what it reads over a channel,
// closed at the end of r or on a read error. The goroutine ends with r.
func readChunks(r io.Reader) <-chan []byte {
	ch := make(chan []byte)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 10240)
			n, err := r.Read(buf)
			if n > 0 {
				ch <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
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
// waits for the ones still open. Without --parallelize it serves them one
// at a time, and a failed handshake or a failed read ends it, as s2n-tls's
// s2nd.
func (s *server) serve(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if s.opts.https && s.opts.httpsBench == 0 {
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
		if !s.opts.parallel {
			if err = s.handle(ctx, id, raw); err != nil {
				break
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, id, raw)
		}()
	}
	l.Close()
	s.wg.Wait()
	return err
}

// handle runs one connection to its end. Its error, already printed, is a
// failed handshake or read.
func (s *server) handle(ctx context.Context, id int, raw net.Conn) error {
	c := s2n.Server(raw, s.cfg)
	defer c.Close()
	// Ending s2nd (a signal) ends its connections, wherever they are.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sess := &session{id: id, remote: raw.RemoteAddr().String()}
	if err := s.handshake(ctx, c, sess); err != nil {
		s.failed.Add(1)
		s.handshakeFailed(c, sess, err)
		return &cli.Printed{Err: err}
	}
	s.served.Add(1)
	var info strings.Builder
	cli.ConnectionInfo(&info, c)
	s.out.Printf("%s%s", info.String(), cli.Ready)
	switch {
	case s.opts.httpsBench > 0:
		err := s.benchResponse(c, sess)
		s.report(sess, err)
		return nil
	case s.web != nil:
		s.web.serve(c, sess)
		return nil
	case s.opts.negotiate:
		s.report(sess, nil)
		return nil
	}
	err := s.exchange(c, sess)
	s.report(sess, err)
	if err != nil && ctx.Err() == nil {
		// s2n-tls's s2nd's words.
		alert, _ := c.Connection().Alert()
		s.log.Printf("Error reading from connection: '%s' %d", s2nMessage(err), alert)
		return &cli.Printed{Err: err}
	}
	return nil
}

// handshakeFailed reports a failed handshake on stderr as s2n-tls's s2nd
// does, and s2nd's own line with --verbose.
func (s *server) handshakeFailed(c *s2n.Conn, sess *session, err error) {
	var b strings.Builder
	cli.HandshakeFailure(&b, c, err)
	if s.opts.mutual {
		if used, uerr := c.Connection().ClientCertUsed(); uerr == nil && !used {
			cli.ToolError(&b, os.Getpid(), "Error: Mutual Auth was required, but not negotiated", err)
		}
	}
	s.log.Write([]byte(b.String()))
	s.logf("s2nd: #%d %s handshake failed: %v", sess.id, sess.remote, err)
}

// s2nMessage is s2n's message of err, or err's text.
func s2nMessage(err error) string {
	var se *s2n.Error
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
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
// sending it back, and sends the client what stdin gives. The end of stdin
// ends the connection.
func (s *server) exchange(c *s2n.Conn, sess *session) error {
	var dst io.Writer = s.out
	if s.opts.echo {
		dst = &countingWriter{w: c, n: &sess.out}
	}
	if s.stdin == nil {
		_, err := io.Copy(dst, &countingReader{r: c, n: &sess.in})
		return err
	}
	received := make(chan error, 1)
	go func() {
		_, err := io.Copy(dst, &countingReader{r: c, n: &sess.in})
		received <- err
	}()
	for {
		select {
		case err := <-received:
			return err
		case chunk, ok := <-s.stdin:
			if !ok {
				c.Close()
				<-received // the read fails on the closed connection
				return nil
			}
			if _, err := (&countingWriter{w: c, n: &sess.out}).Write(chunk); err != nil {
				c.Close()
				<-received
				return err
			}
		}
	}
}

// benchResponse is --https-bench: as s2n-tls's s2nd's bench_handler, an
// HTTP/1.1 200 header and --https-bench zero bytes in writes of 64 KiB,
// whatever the client sent (its request is not read), with the same lines
// on stdout. The caller's Close sends close_notify.
func (s *server) benchResponse(c *s2n.Conn, sess *session) error {
	n := s.opts.httpsBench
	w := &countingWriter{w: c, n: &sess.out}
	if _, err := fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n); err != nil {
		return err
	}
	s.out.Printf("Sending %d bytes...", n)
	buf := make([]byte, 64<<10)
	for n > 0 {
		chunk := min(n, len(buf))
		if _, err := w.Write(buf[:chunk]); err != nil {
			return err
		}
		n -= chunk
	}
	s.out.Printf("Done. Closing connection.\n")
	return nil
}

// report prints the connection's summary line.
func (s *server) report(sess *session, err error) {
	line := fmt.Sprintf("s2nd: #%d %s %s handshake=%v in=%d out=%d", sess.id, sess.remote,
		cli.Summary(sess.state), sess.handshake.Round(100*time.Microsecond), sess.in.Load(), sess.out.Load())
	if err != nil && !errors.Is(err, net.ErrClosed) {
		line += fmt.Sprintf(" error=%q", err.Error())
	}
	s.logf("%s", line)
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
