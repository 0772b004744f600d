package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
)

// client runs s2nc's connections.
type client struct {
	opts   *options
	cfg    *s2n.Config
	stdin  io.Reader
	stdout io.Writer
	log    *cli.SyncWriter

	payload []byte // --send or --send-file, sent on every connection

	ticketMu sync.Mutex
	ticket   []byte        // the last session ticket received
	tickets  chan struct{} // signalled by each ticket received

	// --renegotiation accept or wait: set by acceptRenegotiation, when
	// the server asks, and cleared once the new handshake is reported.
	renegotiating atomic.Bool
	transport     *holdConn // the connection's transport, with --renegotiation wait
	readDeadline  time.Time // the read deadline set for the exchange
}

// gotTicket keeps a session ticket the server sent (a TLS 1.3 ticket can
// come any time after the handshake) and signals it.
func (c *client) gotTicket(_ *s2n.Connection, t *s2n.SessionTicket) error {
	c.ticketMu.Lock()
	c.ticket = t.Data()
	c.ticketMu.Unlock()
	select {
	case c.tickets <- struct{}{}:
	default:
	}
	return nil
}

// lastTicket returns the last ticket received and forgets it.
func (c *client) lastTicket() []byte {
	c.ticketMu.Lock()
	defer c.ticketMu.Unlock()
	t := c.ticket
	c.ticket = nil
	return t
}

func (c *client) addr() string { return net.JoinHostPort(c.opts.host, c.opts.port) }

// round runs one connection in the chosen mode and returns its session
// state, for resuming (nil if the server gave none).
func (c *client) round(ctx context.Context, ticket []byte) ([]byte, error) {
	if c.opts.get != "" {
		return c.get(ctx, ticket)
	}
	c.lastTicket()
	select { // a signal left by an earlier connection
	case <-c.tickets:
	default:
	}
	var conn *s2n.Conn
	var err error
	if c.opts.deserial != nil {
		conn, err = c.deserialize(ctx)
	} else {
		conn, err = c.dial(ctx, ticket)
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	fmt.Fprintf(c.stdout, "Connected to %s:%s\n", c.opts.host, c.opts.port)
	var session []byte
	if !halfClose(conn) && c.opts.deserial == nil {
		// Before TLS 1.3 the session is known once the handshake is done
		// (a ticket or an ID); a TLS 1.3 ticket comes later, to gotTicket.
		if session, err = conn.Connection().Session(); err != nil {
			return nil, err
		}
	}
	wantSession := c.opts.reconnect || c.opts.ticketOut != ""
	switch {
	case c.opts.echo:
		err = c.interactive(conn)
	case wantSession && !c.opts.sendSet && c.opts.sendFile == "":
		// As s2n-tls's s2nc: close once a session to resume is held.
		if halfClose(conn) && !c.opts.tls.NoTickets {
			err = c.awaitTicket(conn)
		}
	default:
		err = c.exchange(conn)
	}
	if err == nil && c.opts.serialOut != "" {
		err = c.serializeOut(conn)
	}
	if err != nil {
		return nil, err
	}
	// TLS 1.3 tickets arrive after the handshake: by now they have been read.
	if t := c.lastTicket(); t != nil {
		return t, nil
	}
	return session, nil
}

// awaitTicket reads until the server sends a session ticket (printing any
// data), or closes, or --timeout passes.
func (c *client) awaitTicket(conn *s2n.Conn) error {
	c.readDeadline = time.Now().Add(c.opts.timeout)
	if err := conn.SetReadDeadline(c.readDeadline); err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-c.tickets:
			conn.SetReadDeadline(time.Now()) // wakes the read below
		case <-done:
		}
	}()
	err := c.copyOut(conn)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("receiving: %w", err)
	}
	return nil
}

// dial connects, runs the handshake within --timeout and prints the
// negotiated parameters.
func (c *client) dial(ctx context.Context, ticket []byte) (*s2n.Conn, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return nil, err
	}
	if c.opts.renegotiation == "wait" {
		c.transport = &holdConn{Conn: raw}
		raw = c.transport
	}
	conn := s2n.Client(raw, c.cfg, c.opts.sni)
	if c.opts.dynamic > 0 {
		// s2n's timeout 0: sizing does not come back after idle time.
		if err := conn.Connection().SetDynamicRecordThreshold(uint32(min(c.opts.dynamic, 1<<32-1)), 0); err != nil {
			conn.Close()
			return nil, fmt.Errorf("--dynamic %d: %w", c.opts.dynamic, err)
		}
	}
	if ticket != nil {
		if err := conn.Connection().SetSession(ticket); err != nil {
			conn.Close()
			return nil, fmt.Errorf("resuming the session: %w", err)
		}
		if c.opts.early != nil {
			if err := c.sendEarly(conn); err != nil {
				conn.Close()
				return nil, err
			}
		}
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		var b strings.Builder
		cli.HandshakeFailure(&b, conn, err)
		c.log.Write([]byte(b.String()))
		conn.Close()
		err = fmt.Errorf("handshake with %s: %w", c.addr(), err)
		if c.opts.tls.Verbose {
			c.log.Printf("s2nc: %v", err)
		}
		return nil, &cli.Printed{Err: err}
	}
	if c.opts.get == "" { // --get prints the body only
		var b strings.Builder
		cli.ConnectionInfo(&b, conn)
		fmt.Fprintf(c.stdout, "%s%s\n", b.String(), cli.Ready)
	}
	c.printParams(conn, time.Since(start))
	return conn, nil
}

// printParams prints s2nc's own summary of the connection (--verbose).
func (c *client) printParams(conn *s2n.Conn, elapsed time.Duration) {
	if c.opts.quiet || !c.opts.tls.Verbose {
		return
	}
	state := cli.StateOf(conn)
	fields := append(cli.Fields(state, "client"), cli.Field{Name: "verified", Value: c.opts.verification()})
	block := cli.Block(fields)
	if n := len(state.TLS.OCSPResponse); n > 0 {
		// s2n-tls's s2nc prints this line.
		block += fmt.Sprintf("OCSP response received, length %d\n", n)
	}
	c.log.Printf("s2nc: connected to %s (%s) in %v\n%s", c.addr(), conn.RemoteAddr(),
		elapsed.Round(100*time.Microsecond), strings.TrimSuffix(block, "\n"))
}

// exchange sends the payload, if any, ends the sending side and
// prints what the server sends until it closes, all within --timeout.
func (c *client) exchange(conn *s2n.Conn) error {
	c.readDeadline = time.Now().Add(c.opts.timeout)
	if err := conn.SetDeadline(c.readDeadline); err != nil {
		return err
	}
	if _, err := conn.Write(c.payload); err != nil {
		return fmt.Errorf("sending: %w", err)
	}
	if c.opts.serialOut != "" {
		// As s2n-tls's s2nc: serialized right after sending.
		return nil
	}
	if !halfClose(conn) {
		return c.linger(conn)
	}
	// A server that answered and closed first leaves the close_notify
	// nowhere to go: what matters is that its answer arrives whole.
	closeErr := conn.CloseWrite()
	if err := c.copyOut(conn); err != nil {
		if closeErr != nil {
			return fmt.Errorf("closing: %w", closeErr)
		}
		return fmt.Errorf("receiving: %w", err)
	}
	return nil
}

// halfClose reports whether the connection can close its sending side and
// go on reading: TLS 1.3 only. Before TLS 1.3 a close_notify closes both
// directions, and s2n refuses to read after sending one.
func halfClose(conn *s2n.Conn) bool {
	return conn.Connection().ProtocolVersion() >= s2n.TLS13
}

// linger prints what the server sends until it closes or stays quiet for
// --linger: without half-close, the server cannot be told that the client
// is done and still answer.
func (c *client) linger(conn *s2n.Conn) error {
	buf := make([]byte, 16*1024)
	for {
		c.readDeadline = time.Now().Add(c.opts.linger)
		if err := conn.SetReadDeadline(c.readDeadline); err != nil {
			return err
		}
		n, err := conn.Read(buf)
		if _, werr := c.stdout.Write(buf[:n]); werr != nil {
			return werr
		}
		if err == nil {
			if err := c.reportRenegotiation(conn); err != nil {
				return err
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, os.ErrDeadlineExceeded), c.truncated(err):
			return nil
		default:
			return fmt.Errorf("receiving: %w", err)
		}
	}
}

// interactive copies stdin to the server and the server to stdout, at the
// same time, until the server closes or stdin ends. As s2n-tls's s2nc, the
// end of stdin closes the connection (close_notify) at once: what the
// server sends after it is not read; with --serialize-out it stops
// reading instead, for round to serialize the connection. If the server
// closes first, the copy from stdin is abandoned (it may be blocked
// reading a terminal).
func (c *client) interactive(conn *s2n.Conn) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, c.stdin)
		sent <- err
	}()
	received := make(chan error, 1)
	go func() {
		received <- c.copyOut(conn)
	}()
	select {
	case err := <-received:
		if err != nil {
			if errors.Is(err, s2n.ErrAlert) {
				// s2n-tls's s2nc's words (the suite looks for them).
				alert, _ := conn.Connection().Alert()
				c.log.Printf("Received alert: %d", alert)
			}
			return fmt.Errorf("receiving: %w", err)
		}
		return nil
	case err := <-sent:
		if err != nil {
			conn.Close()
			<-received
			return fmt.Errorf("sending: %w", err)
		}
		if c.opts.serialOut != "" {
			// Interrupt the read in progress, leaving conn open.
			if err := conn.SetReadDeadline(time.Now()); err != nil {
				return err
			}
			if err := <-received; err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("receiving: %w", err)
			}
			return conn.SetReadDeadline(time.Time{})
		}
		cerr := conn.Close()
		<-received // fails on the closed connection
		if cerr != nil {
			return fmt.Errorf("closing: %w", cerr)
		}
		return nil
	}
}

// copyOut prints what the server sends until it closes (nil) or a read
// fails, reporting each renegotiation once it is over.
func (c *client) copyOut(conn *s2n.Conn) error {
	buf := make([]byte, 16*1024)
	for {
		n, err := conn.Read(buf)
		if _, werr := c.stdout.Write(buf[:n]); werr != nil {
			return werr
		}
		if err == nil {
			err = c.reportRenegotiation(conn)
		}
		if errors.Is(err, io.EOF) || c.truncated(err) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// truncated reports whether err is the end of a connection the server
// closed without close_notify (s2n's S2N_ERR_CLOSED), which ends s2nc's
// reading without an error: the s2n-tls version of the integration suite
// (v1.3.33) returns it from s2n_recv as the end of the stream, and its
// OpenSSL peers close so (s_server ends the connection without
// close_notify when its stdin ends). With --verbose it is noted.
func (c *client) truncated(err error) bool {
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	if c.opts.tls.Verbose {
		c.log.Printf("s2nc: the server closed the connection without close_notify")
	}
	return true
}

// acceptRenegotiation is the renegotiation request callback of
// --renegotiation accept and wait: as s2n-tls's s2nc, it prints
// "RENEGOTIATE" and accepts; the Conn runs the new handshake within the
// Read in progress. With wait, the transport holds the new handshake's
// first message until the server has sent application data after its
// request (which s2n-tls's s2nc waits for before renegotiating).
func (c *client) acceptRenegotiation(*s2n.Connection) s2n.RenegotiateResponse {
	io.WriteString(c.stdout, "RENEGOTIATE\n")
	if c.transport != nil {
		c.transport.holdUntilData()
	}
	c.renegotiating.Store(true)
	return s2n.RenegotiateAccept
}

// reportRenegotiation, after a Read during which the Conn renegotiated,
// prints the rest of the application data received during the new
// handshake, then the new parameters and "s2n is ready, again", as
// s2n-tls's s2nc does once the new handshake is over.
func (c *client) reportRenegotiation(conn *s2n.Conn) error {
	if !c.renegotiating.Swap(false) {
		return nil
	}
	// What the Conn kept during the new handshake comes back without
	// waiting: an expired deadline ends the Read once it is all out.
	if err := conn.SetReadDeadline(time.Now()); err != nil {
		return err
	}
	buf := make([]byte, 16*1024)
	for {
		n, err := conn.Read(buf)
		if _, werr := c.stdout.Write(buf[:n]); werr != nil {
			return werr
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := conn.SetReadDeadline(c.readDeadline); err != nil {
		return err
	}
	var b strings.Builder
	cli.ConnectionInfo(&b, conn)
	_, err := fmt.Fprintf(c.stdout, "%s%s, again\n", b.String(), cli.Ready)
	return err
}

// sendEarly sends --early-data with the ClientHello, within --timeout, as
// far as the session resumed allows (s2n-tls's s2nc sends the rest not at
// all).
func (c *client) sendEarly(conn *s2n.Conn) error {
	if err := conn.SetDeadline(time.Now().Add(c.opts.timeout)); err != nil {
		return err
	}
	if _, err := conn.WriteEarlyData(c.opts.early); err != nil {
		return fmt.Errorf("sending early data: %w", err)
	}
	return conn.SetDeadline(time.Time{})
}

// deserialize connects and makes the connection serialized in
// --deserialize-in's file, without a handshake.
func (c *client) deserialize(ctx context.Context) (*s2n.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return nil, err
	}
	conn, err := s2n.DeserializeConn(raw, c.cfg, s2n.ModeClient, c.opts.deserial)
	if err != nil {
		raw.Close()
		var b strings.Builder
		cli.ToolError(&b, os.Getpid(), "Failed to deserialize file", err)
		c.log.Write([]byte(b.String()))
		return nil, &cli.Printed{Err: fmt.Errorf("--deserialize-in %s: %w", c.opts.serialIn, err)}
	}
	return conn, nil
}

// serializeOut writes conn's TLS state to --serialize-out's file and
// closes the transport without close_notify, as s2n-tls's s2nc.
func (c *client) serializeOut(conn *s2n.Conn) error {
	state, transport, err := conn.Serialize()
	if err == nil {
		transport.Close()
		err = os.WriteFile(c.opts.serialOut, state, 0o600)
	}
	if err != nil {
		var b strings.Builder
		cli.ToolError(&b, os.Getpid(), "Error serializing connection", err)
		c.log.Write([]byte(b.String()))
		return &cli.Printed{Err: fmt.Errorf("--serialize-out %s: %w", c.opts.serialOut, err)}
	}
	return nil
}

// get fetches --get PATH over HTTP/1.1 through net/http, with s2n as the
// transport's TLS, and prints the body.
func (c *client) get(ctx context.Context, ticket []byte) ([]byte, error) {
	var conn *savingConn
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			sc, err := c.dial(ctx, ticket)
			if err != nil {
				return nil, err
			}
			conn = &savingConn{Conn: sc}
			return conn, nil
		},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{
		Transport:     tr,
		Timeout:       c.opts.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := "https://" + c.addr() + c.opts.get
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, cli.Usagef("--get: %v", err)
	}
	if c.opts.sni != "" {
		req.Host = net.JoinHostPort(c.opts.sni, c.opts.port)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if c.opts.tls.Verbose {
		c.log.Printf("s2nc: GET %s: %s %s (%s)", c.opts.get, resp.Proto, resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, err := io.Copy(c.stdout, resp.Body); err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", c.opts.get, err)
	}
	resp.Body.Close()
	// Keep-alives are off: the connection is done; close it to read its
	// session state (net/http may not have closed it yet).
	conn.Close()
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("GET %s: %s", c.opts.get, resp.Status)
	}
	return conn.session, nil
}

// savingConn keeps a connection's session state, read when it is closed.
type savingConn struct {
	*s2n.Conn
	once    sync.Once
	session []byte
	err     error
}

func (s *savingConn) Close() error {
	s.once.Do(func() {
		s.session, _ = s.Connection().Session()
		s.err = s.Conn.Close()
		if errors.Is(s.err, net.ErrClosed) {
			s.err = nil
		}
	})
	return s.err
}
