// Command tlsserver is the crypto/tls reference of make bench-server
// (bench/serverload): a minimal TLS 1.3 server doing what cmd/s2nd and
// s2n-tls's s2nd do in the modes the load generator uses, one goroutine per
// connection.
//
//	tlsserver -cert FILE -key FILE [-tickets] [-mode negotiate|echo|bench] [-bytes N] HOST PORT
//
// Modes: negotiate runs the handshake and closes (s2nd -n); echo sends back
// what the client sends until it closes (cmd/s2nd -e); bench answers each
// connection, without reading a request, with an HTTP/1.1 200 of -bytes zero
// bytes and closes (s2nd -w -b N). Session tickets are off unless -tickets.
// As s2n's default_tls13 policy allows, it speaks TLS 1.3 only here and
// prefers P-256 (the load generator offers nothing else).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	certFile := flag.String("cert", "", "PEM certificate chain")
	keyFile := flag.String("key", "", "PEM private key")
	tickets := flag.Bool("tickets", false, "issue session tickets (TLS 1.3 resumption)")
	mode := flag.String("mode", "negotiate", "negotiate, echo or bench")
	bytes := flag.Int("bytes", 1<<20, "bench mode: bytes per connection")
	flag.Parse()
	if flag.NArg() != 2 || *certFile == "" || *keyFile == "" {
		fmt.Fprintln(os.Stderr, "usage: tlsserver -cert FILE -key FILE [-tickets] [-mode negotiate|echo|bench] [-bytes N] HOST PORT")
		os.Exit(2)
	}
	var handle func(*tls.Conn) error
	switch *mode {
	case "negotiate":
		handle = func(c *tls.Conn) error { return c.Handshake() }
	case "echo":
		handle = func(c *tls.Conn) error { _, err := io.Copy(c, c); return err }
	case "bench":
		if *bytes < 0 {
			fmt.Fprintln(os.Stderr, "tlsserver: -bytes must not be negative")
			os.Exit(2)
		}
		handle = func(c *tls.Conn) error { return bench(c, *bytes) }
	default:
		fmt.Fprintf(os.Stderr, "tlsserver: unknown -mode %q (negotiate, echo, bench)\n", *mode)
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsserver:", err)
		os.Exit(1)
	}
	cfg := &tls.Config{
		Certificates:           []tls.Certificate{cert},
		MinVersion:             tls.VersionTLS13,
		CurvePreferences:       []tls.CurveID{tls.CurveP256, tls.X25519, tls.CurveP384},
		SessionTicketsDisabled: !*tickets,
	}
	l, err := net.Listen("tcp", net.JoinHostPort(flag.Arg(0), flag.Arg(1)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsserver:", err)
		os.Exit(1)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		l.Close()
	}()
	for {
		raw, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			c := tls.Server(raw, cfg)
			defer c.Close()
			handle(c)
		}()
	}
}

// bench writes the header and n zero bytes in 64 KiB writes, as s2nd's
// bench_handler does.
func bench(c *tls.Conn, n int) error {
	if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for n > 0 {
		chunk := min(n, len(buf))
		if _, err := c.Write(buf[:chunk]); err != nil {
			return err
		}
		n -= chunk
	}
	return nil
}
