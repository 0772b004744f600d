// Command pkcs11 serves HTTPS over s2n-tls with private keys that never leave
// a hardware security module: an ECDSA P-256 and an RSA-2048 key kept in a
// PKCS#11 token (SoftHSM2 here), used through github.com/ThalesGroup/crypto11
// as the crypto.Signer (and, for RSA, crypto.Decrypter) behind
// s2n.Config.AddCertChainWithSigner. Every handshake signature, and every
// TLS 1.2 RSA key-exchange decryption, is a PKCS#11 call made on a goroutine
// while the handshake waits parked; this process never holds a private key.
//
//	eval "$(scripts/softhsm-setup)"     # a SoftHSM2 token, and its settings
//	go run ./examples/pkcs11 -selftest  # serve, connect once per key, exit
//	go run ./examples/pkcs11            # serve https://localhost:8443/
//	go run ./examples/pkcs11 -delete    # remove the example's keys
//
// The keys are generated inside the token on first use (sensitive, never
// extractable) under the labels s2n-go-example-ecdsa and s2n-go-example-rsa,
// and found again by label afterwards. The certificates are public, so they
// are simply self-signed again at each start, by the token.
package main

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/s2n-go/s2n"
)

var keyLabels = map[string]string{"ecdsa": "s2n-go-example-ecdsa", "rsa": "s2n-go-example-rsa"}

func main() {
	module := flag.String("module", os.Getenv("S2N_PKCS11_MODULE"), "PKCS#11 module (libsofthsm2.so); default $S2N_PKCS11_MODULE")
	token := flag.String("token", envOr("S2N_PKCS11_TOKEN_LABEL", "s2n-go-test"), "token label; default $S2N_PKCS11_TOKEN_LABEL")
	pin := flag.String("pin", os.Getenv("S2N_PKCS11_PIN"), "user PIN; default $S2N_PKCS11_PIN")
	addr := flag.String("addr", "localhost:8443", "address to serve on")
	// TLS 1.3 and 1.2 with ECDSA and RSA certificates, and TLS 1.2 RSA key
	// exchange: every operation the token can be asked for.
	policy := flag.String("policy", "20210825_gcm", "s2n security policy")
	inflight := flag.Int("max-inflight", 4, "bound on concurrent key operations in the token")
	selftest := flag.Bool("selftest", false, "serve on a loopback port, connect once per key with crypto/tls, print what was negotiated, exit")
	del := flag.Bool("delete", false, "delete the example's keys from the token and exit")
	flag.Parse()
	if *module == "" || *pin == "" {
		log.Fatal(`pkcs11: no token settings: run  eval "$(scripts/softhsm-setup)"  first, or pass -module and -pin`)
	}
	hsm, err := crypto11.Configure(&crypto11.Config{Path: *module, TokenLabel: *token, Pin: *pin, MaxSessions: *inflight + 2})
	if err != nil {
		log.Fatalf("pkcs11: opening token %q with %s: %v", *token, *module, err)
	}
	defer hsm.Close()
	if *del {
		if err := deleteKeys(hsm); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(hsm, *token, *addr, *policy, *inflight, *selftest); err != nil {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(hsm *crypto11.Context, token, addr, policy string, inflight int, selftest bool) error {
	cfg, err := s2n.NewConfig()
	if err != nil {
		return err
	}
	defer cfg.Close()
	if err := cfg.SetCipherPreferences(policy); err != nil {
		return err
	}
	if err := cfg.SetMaxInflightKeyOps(inflight); err != nil {
		return err
	}
	if err := cfg.SetProtocolPreferences([]string{"http/1.1"}); err != nil {
		return err
	}
	roots := x509.NewCertPool()
	for _, kind := range []string{"ecdsa", "rsa"} {
		key, created, err := tokenKey(hsm, kind)
		if err != nil {
			return err
		}
		certPEM, cert, err := selfSign(key)
		if err != nil {
			return err
		}
		// The chain is loaded public-only; the key stays in the token.
		if err := cfg.AddCertChainWithSigner(certPEM, key); err != nil {
			return err
		}
		roots.AddCert(cert)
		state := "found"
		if created {
			state = "generated"
		}
		fmt.Printf("key %-5s  %s in token %q as %q\n", kind, state, token, keyLabels[kind])
	}

	if selftest {
		addr = "localhost:0"
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(handle),
		// The handler reports from the s2n connection itself.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(s2n.NewListener(inner, cfg)) }()
	_, port, _ := net.SplitHostPort(inner.Addr().String())
	url := "https://localhost:" + port + "/"
	if !selftest {
		fmt.Printf("serving %s (Ctrl-C to stop)\n", url)
		return <-serveErr
	}
	defer srv.Close()
	return selfTest(url, roots)
}

type connKey struct{}

// handle answers with what this connection negotiated.
func handle(w http.ResponseWriter, r *http.Request) {
	c, ok := r.Context().Value(connKey{}).(*s2n.Conn)
	if !ok {
		http.Error(w, "not an s2n connection", http.StatusInternalServerError)
		return
	}
	st := c.HandshakeInfo()
	kex := st.KeyExchangeGroup
	if kex == "" {
		kex = "RSA (premaster decrypted in the token)"
	}
	fmt.Fprintf(w, "%s %s, key exchange %s, %d key operation(s) in the token\n", st.Version, st.CipherSuite, kex, st.OffloadedOps)
}

// selfTest connects once per way of reaching a key: TLS 1.3, and TLS 1.2
// with ECDSA, RSA signatures and RSA key exchange.
func selfTest(url string, roots *x509.CertPool) error {
	for _, c := range []struct {
		name  string
		max   uint16
		suite uint16
	}{
		{"TLS 1.3", tls.VersionTLS13, 0},
		{"TLS 1.2 ECDHE-ECDSA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"TLS 1.2 ECDHE-RSA", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		{"TLS 1.2 RSA key exchange", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256},
	} {
		cfg := &tls.Config{RootCAs: roots, MaxVersion: c.max}
		if c.suite != 0 {
			cfg.CipherSuites = []uint16{c.suite}
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
		resp, err := client.Get(url)
		if err != nil {
			return fmt.Errorf("%s (is it in the -policy?): %w", c.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		client.CloseIdleConnections()
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		leaf := resp.TLS.PeerCertificates[0]
		fmt.Printf("%-26s %s cert: %s", c.name, leaf.PublicKeyAlgorithm, body)
	}
	return nil
}

// tokenKey finds the example's key of this kind in the token, or generates
// it there.
func tokenKey(hsm *crypto11.Context, kind string) (crypto11.Signer, bool, error) {
	label := []byte(keyLabels[kind])
	found, err := hsm.FindKeyPairs(nil, label)
	if err != nil {
		return nil, false, fmt.Errorf("looking up %s: %w", label, err)
	}
	if len(found) > 0 {
		return found[0], false, nil
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, false, err
	}
	var key crypto11.Signer
	switch kind {
	case "ecdsa":
		key, err = hsm.GenerateECDSAKeyPairWithLabel(id, label, elliptic.P256())
	case "rsa":
		key, err = hsm.GenerateRSAKeyPairWithLabel(id, label, 2048)
	}
	if err != nil {
		return nil, false, fmt.Errorf("generating %s in the token: %w", label, err)
	}
	return key, true, nil
}

func deleteKeys(hsm *crypto11.Context) error {
	var errs []error
	for _, label := range keyLabels {
		keys, err := hsm.FindKeyPairs(nil, []byte(label))
		errs = append(errs, err)
		for _, k := range keys {
			errs = append(errs, k.Delete())
		}
		fmt.Printf("deleted %d key pair(s) labelled %q\n", len(keys), label)
	}
	return errors.Join(errs...)
}

// selfSign makes a certificate for localhost, signed by key in the token.
func selfSign(key crypto.Signer) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"s2n-go pkcs11 example"}},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signing with the token: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert, nil
}
