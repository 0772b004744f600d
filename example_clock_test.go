package s2n_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"time"

	"github.com/s2n-go/s2n"
)

// A Clock moves a Config's wall clock forward without sleeping: here a
// client whose clock reads a century ahead refuses the server's
// certificate as expired. The server here is crypto/tls.
func ExampleClock() {
	chainPEM, _ := exampleCert()
	cert, err := tls.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(io.Discard, c) }()
		}
	}()

	clock := s2n.NewClock()
	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	for _, err := range []error{
		cfg.SetCipherPreferences("default_tls13"),
		cfg.AddPEMToTrustStore(chainPEM),
		cfg.SetWallClock(clock),
	} {
		if err != nil {
			log.Fatal(err)
		}
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	addr := net.JoinHostPort("localhost", port)

	conn, err := s2n.Dial("tcp", addr, cfg)
	if err != nil {
		log.Fatal(err)
	}
	conn.Close()
	fmt.Println("now: certificate accepted")

	// The example certificate is valid until 2126.
	if err := clock.Advance(99*365*24*time.Hour + 300*24*time.Hour); err != nil {
		log.Fatal(err)
	}
	_, err = s2n.Dial("tcp", addr, cfg)
	var se *s2n.Error
	if errors.As(err, &se) {
		fmt.Println("99 years on:", se.Name)
	}
	// Output:
	// now: certificate accepted
	// 99 years on: S2N_ERR_CERT_EXPIRED
}

// CleanupFinal ends s2n for the whole process, for a program that checks
// for leaks at exit: everything of s2n's must be closed first, and s2n
// cannot be used again afterwards. (Not run here: it would end s2n for the
// other examples too.)
func ExampleCleanupFinal() {
	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	// ... serve with cfg ...
	cfg.Close()

	if err := s2n.CleanupFinal(); err != nil {
		// S2N_GO_ERR_IN_USE: a Config, Connection, CertChainAndKey or
		// key operation is still open.
		log.Fatal(err)
	}
	_, err = s2n.NewConfig()
	fmt.Println(errors.Is(err, s2n.ErrUsage)) // S2N_GO_ERR_FINALIZED
}
