package s2nmetrics_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/s2nmetrics"
)

// A server counts its handshakes for Prometheus: the Collector is
// registered once and attached to the server's Config. Here one crypto/tls
// client connects; a real server would serve the registry on /metrics
// with promhttp.HandlerFor (cmd/s2nd's --metrics does).
func ExampleCollector() {
	chainPEM, err := os.ReadFile("../testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	keyPEM, err := os.ReadFile("../testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	chain, err := s2n.NewCertChainAndKey(chainPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	defer chain.Close()
	cfg, err := s2n.NewConfig()
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	if err := cfg.AddCertChainAndKey(chain); err != nil {
		log.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	col := s2nmetrics.New(s2nmetrics.Options{})
	reg.MustRegister(col)
	if err := col.Attach(cfg); err != nil {
		log.Fatal(err)
	}

	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_, err = io.WriteString(c, "hello\n")
		served <- err
	}()

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(chainPEM)
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		log.Fatal(err)
	}
	c.Close()
	if err := <-served; err != nil {
		log.Fatal(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "s2n_handshakes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			fmt.Println(labels["side"], labels["version"], labels["signature_scheme"], "resumed="+labels["resumed"], m.GetCounter().GetValue())
		}
	}
	// Output:
	// server TLS1.3 ecdsa_secp256r1_sha256 resumed=false 1
}
