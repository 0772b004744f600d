package s2n_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	"github.com/s2n-go/s2n"
)

// The examples use the self-signed certificate for localhost in testdata/
// (see testdata/README.md) and talk to a peer on the loopback interface.

// exampleCert returns the certificate chain and its private key as a
// crypto.Signer, the interface a PKCS#11 object or a KMS client implements.
func exampleCert() (chainPEM []byte, key crypto.Signer) {
	chainPEM, err := os.ReadFile("testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	keyPEM, err := os.ReadFile("testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		log.Fatal("testdata/example-key.pem: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}
	return chainPEM, k.(crypto.Signer)
}

// exampleClientTLS is a crypto/tls client configuration that trusts the
// example certificate.
func exampleClientTLS(chainPEM []byte) *tls.Config {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(chainPEM)
	return &tls.Config{RootCAs: roots, ServerName: "localhost"}
}

// A TLS server whose key is a crypto.Signer: s2n loads the certificate
// alone, and each private-key operation of a handshake goes to the signer on
// a goroutine of its own while the handshake waits, parked. The client here
// is crypto/tls.
func ExampleListen() {
	chainPEM, key := exampleCert()
	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.SetCipherPreferences("default_tls13"); err != nil {
		log.Fatal(err)
	}
	if err := cfg.AddCertChainWithSigner(chainPEM, key); err != nil {
		log.Fatal(err)
	}

	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	offloaded := make(chan bool, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		conn := c.(*s2n.Conn)
		defer conn.Close()
		// The first Write runs the handshake.
		if _, err := io.WriteString(conn, "hello from s2n\n"); err != nil {
			log.Fatal(err)
		}
		offloaded <- conn.HandshakeInfo().KeyOffloaded
		io.Copy(io.Discard, conn) // until the client closes
	}()

	c, err := tls.Dial("tcp", l.Addr().String(), exampleClientTLS(chainPEM))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	fmt.Println(tls.VersionName(c.ConnectionState().Version))
	fmt.Println("key offloaded:", <-offloaded)
	// Output:
	// hello from s2n
	// TLS 1.3
	// key offloaded: true
}

// The low-level way to offload a key: the process holds the certificate
// only, the callback copies the operation's input out and returns at once,
// and the answer comes later from another goroutine, which sets the output
// and applies it; the handshake then goes on. Here the "remote" key is a
// local crypto.Signer.
func ExampleConfig_SetAsyncPkeyCallback() {
	chainPEM, key := exampleCert()
	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	chain, err := s2n.NewPublicCertChain(chainPEM) // no private key here
	if err != nil {
		log.Fatal(err)
	}
	defer chain.Close()
	if err := cfg.AddCertChainAndKey(chain); err != nil {
		log.Fatal(err)
	}
	var answered atomic.Int32
	err = cfg.SetAsyncPkeyCallback(func(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
		// Inside the handshake, on a thread s2n holds: take what the
		// signature needs and return.
		typ, err := op.Type()
		if err == nil && typ != s2n.AsyncSign {
			err = fmt.Errorf("an ECDSA key only signs, not %v", typ)
		}
		var digest []byte
		if err == nil {
			digest, err = op.Input()
		}
		var hash s2n.HashAlgorithm
		if err == nil {
			hash, err = conn.SelectedDigestAlgorithm()
		}
		if err != nil {
			op.Free()
			return err
		}
		go func() {
			defer op.Free()
			// Elsewhere, later: an HSM, a KMS, a remote signer.
			sig, err := key.Sign(rand.Reader, digest, hash.CryptoHash())
			if err == nil {
				err = op.SetOutput(sig)
			}
			if err == nil {
				answered.Add(1)
				err = op.Apply(conn) // the waiting handshake goes on
			}
			if err != nil {
				log.Print(err)
			}
		}()
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "signed elsewhere\n")
		io.Copy(io.Discard, c)
	}()

	c, err := tls.Dial("tcp", l.Addr().String(), exampleClientTLS(chainPEM))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	fmt.Println("operations answered by the goroutine:", answered.Load())
	// Output:
	// signed elsewhere
	// operations answered by the goroutine: 1
}

// A TLS client: Dial connects, runs the handshake and verifies the server
// for the host of the address. The server here is crypto/tls, echoing.
func ExampleDial() {
	chainPEM, _ := exampleCert()
	cert, err := tls.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"echo/1"}})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		io.Copy(c, c)
	}()

	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	for _, err := range []error{
		cfg.SetCipherPreferences("default_tls13"),
		cfg.AddPEMToTrustStore(chainPEM),
		cfg.SetProtocolPreferences([]string{"echo/1"}),
	} {
		if err != nil {
			log.Fatal(err)
		}
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	conn, err := s2n.Dial("tcp", net.JoinHostPort("localhost", port), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	fmt.Println(tls.VersionName(st.Version), st.NegotiatedProtocol, st.PeerCertificates[0].Subject.CommonName)
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	// Output:
	// TLS 1.3 echo/1 localhost
	// ping
}

// An HTTPS server over s2n with one call: HTTP/2 or HTTP/1.1 as each
// client's ALPN chooses, r.TLS filled, and srv.Shutdown as with crypto/tls.
// The client here is net/http's own, over crypto/tls.
func ExampleServeHTTP() {
	chainPEM, key := exampleCert()
	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	for _, err := range []error{
		cfg.SetCipherPreferences("default_tls13"),
		cfg.AddCertChainWithSigner(chainPEM, key),
		cfg.SetProtocolPreferences([]string{"h2", "http/1.1"}), // HTTP/2 needs "h2" here
	} {
		if err != nil {
			log.Fatal(err)
		}
	}
	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s, ALPN %s, %s\n", r.Proto, r.TLS.NegotiatedProtocol, tls.VersionName(r.TLS.Version))
	})}
	served := make(chan error, 1)
	go func() { served <- s2n.ServeHTTP(srv, l) }()

	for _, protos := range [][]string{{"h2"}, {"http/1.1"}} {
		tlsCfg := exampleClientTLS(chainPEM)
		tlsCfg.NextProtos = protos
		tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: protos[0] == "h2"}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + l.Addr().String() + "/")
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(os.Stdout, resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
	}

	if err := srv.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-served)
	// Output:
	// HTTP/2.0, ALPN h2, TLS 1.3
	// HTTP/1.1, ALPN http/1.1, TLS 1.3
	// http: Server closed
}

// An HTTPS client over s2n: Transport speaks HTTP/2 or HTTP/1.1 as the
// server's ALPN answer says and keeps connections for reuse. The server
// here is net/http's own, over crypto/tls.
func ExampleTransport() {
	chainPEM, _ := exampleCert()
	cert, err := tls.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s from %s\n", r.Proto, r.TLS.ServerName)
	}))
	ts.EnableHTTP2 = true
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	defer ts.Close()

	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	for _, err := range []error{
		cfg.SetCipherPreferences("default_tls13"),
		cfg.AddPEMToTrustStore(chainPEM),
		cfg.SetProtocolPreferences([]string{"h2", "http/1.1"}),
	} {
		if err != nil {
			log.Fatal(err)
		}
	}
	client := &http.Client{Transport: &s2n.Transport{Config: cfg}}
	defer client.CloseIdleConnections()

	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	for range 2 {
		resp, err := client.Get("https://localhost:" + port + "/")
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(os.Stdout, resp.Body)
		resp.Body.Close()
		fmt.Println("resp.TLS:", tls.VersionName(resp.TLS.Version), resp.TLS.NegotiatedProtocol)
	}
	// Output:
	// HTTP/2.0 from localhost
	// resp.TLS: TLS 1.3 h2
	// HTTP/2.0 from localhost
	// resp.TLS: TLS 1.3 h2
}
