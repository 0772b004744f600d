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
		buf := make([]byte, 10240)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				ch <- append([]byte(nil), buf[:n]...)
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
// failed handshake or read. As s2n-tls's s2nd: with --deserialize-in the
// connection is the deserialized one, without a handshake or parameters;
// with --serialize-out it ends serialized to the file instead of closed.
func (s *server) handle(ctx context.Context, id int, raw net.Conn) error {
	sess := &session{id: id, remote: raw.RemoteAddr().String()}
	c, err := s.newConn(raw)
	if err != nil {
		raw.Close()
		s.failed.Add(1)
		var b strings.Builder
		cli.ToolError(&b, os.Getpid(), "Failed to deserialize file", err)
		s.log.Write([]byte(b.String()))
		return &cli.Printed{Err: fmt.Errorf("--deserialize-in %s: %w", s.opts.serialIn, err)}
	}
	defer c.Close()
	// Ending s2nd (a signal) ends its connections, wherever they are.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if s.opts.deserial == nil {
		if err := s.handshake(ctx, c, sess); err != nil {
			s.failed.Add(1)
			s.handshakeFailed(c, sess, err)
			return &cli.Printed{Err: err}
		}
		var info strings.Builder
		cli.ConnectionInfo(&info, c)
		s.out.Printf("%s%s", info.String(), cli.Ready)
	} else {
		sess.state = cli.StateOf(c)
	}
	s.served.Add(1)
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
		return s.serializeOut(c)
	}
	err = s.exchange(c, sess)
	s.report(sess, err)
	if err != nil && ctx.Err() == nil {
		// s2n-tls's s2nd's words.
		alert, _ := c.Connection().Alert()
		s.log.Printf("Error reading from connection: '%s' %d", s2nMessage(err), alert)
		return &cli.Printed{Err: err}
	}
	return s.serializeOut(c)
}

// newConn makes the server Conn over raw: a new one, or with
// --deserialize-in the one serialized in the file.
func (s *server) newConn(raw net.Conn) (*s2n.Conn, error) {
	if s.opts.deserial == nil {
		return s2n.Server(raw, s.cfg), nil
	}
	return s2n.DeserializeConn(raw, s.cfg, s2n.ModeServer, s.opts.deserial)
}

// serializeOut, with --serialize-out, writes c's TLS state to the file
// and closes the transport without close_notify, as s2n-tls's s2nd.
func (s *server) serializeOut(c *s2n.Conn) error {
	if s.opts.serialOut == "" {
		return nil
	}
	state, transport, err := c.Serialize()
	if err == nil {
		transport.Close()
		err = os.WriteFile(s.opts.serialOut, state, 0o600)
	}
	if err != nil {
		var b strings.Builder
		cli.ToolError(&b, os.Getpid(), "Error serializing connection", err)
		s.log.Write([]byte(b.String()))
		return &cli.Printed{Err: fmt.Errorf("--serialize-out %s: %w", s.opts.serialOut, err)}
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
	if s.opts.maxEarly > 0 {
		if err := s.readEarly(c); err != nil {
			return err
		}
	}
	if err := c.HandshakeContext(hctx); err != nil {
		return err
	}
	sess.handshake = time.Since(start)
	sess.state = cli.StateOf(c)
	return nil
}

// readEarly reads the client's early data, within --timeout, and prints
// it as s2n-tls's s2nd does ("Early Data received: " and the bytes as
// they are, on one line), before the handshake completes.
func (s *server) readEarly(c *s2n.Conn) error {
	if err := c.SetDeadline(time.Now().Add(s.opts.timeout)); err != nil {
		return err
	}
	var early []byte
	buf := make([]byte, min(s.opts.maxEarly, 16384))
	for {
		n, err := c.ReadEarlyData(buf)
		early = append(early, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if len(early) > 0 {
		s.out.Printf("Early Data received: %s", early)
	}
	return c.SetDeadline(time.Time{})
}

// exchange reads what the client sends until it closes, printing it or
// sending it back, and sends the client what stdin gives. The end of stdin
// ends the connection: it closes it, or with --serialize-out stops reading
// (the caller serializes it).
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
				return s.stopReading(c, received)
			}
			if _, err := (&countingWriter{w: c, n: &sess.out}).Write(chunk); err != nil {
				c.Close()
				<-received
				return err
			}
		}
	}
}

// stopReading ends the exchange at the end of stdin: it closes c, or with
// --serialize-out interrupts the read in progress (a read deadline) and
// leaves c open, to be serialized.
func (s *server) stopReading(c *s2n.Conn, received <-chan error) error {
	if s.opts.serialOut == "" {
		c.Close()
		<-received // the read fails on the closed connection
		return nil
	}
	if err := c.SetReadDeadline(time.Now()); err != nil {
		return err
	}
	err := <-received
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return c.SetReadDeadline(time.Time{})
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

// Read counts what it reads. A connection the client closed without
// close_notify (s2n's S2N_ERR_CLOSED) ends like one closed with it: the
// s2n-tls version of the integration suite (v1.3.33) returns it from
// s2n_recv as the end of the stream, and its s2nd ends the connection
// without an error.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
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
