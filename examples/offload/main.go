// Command offload shows s2n-tls's asynchronous private-key operations from
// Go, end to end and in one process: a server whose certificate is loaded
// without its private key hands every signature to a "remote signer" (a
// goroutine with a simulated network delay, standing in for an HSM or KMS),
// while a client connects to it over a non-blocking socket pair. Both sides
// are driven the way an event loop drives them; the server never blocks on
// the key.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/s2n-go/s2n"
)

func main() {
	latency := flag.Duration("key-latency", 20*time.Millisecond, "simulated round trip to the remote signer")
	policy := flag.String("policy", "default_tls13", "s2n security policy for both sides")
	flag.Parse()
	if err := run(*latency, *policy); err != nil {
		log.Fatal(err)
	}
}

func run(latency time.Duration, policy string) error {
	// The key stays with the "remote signer"; the server only gets the
	// certificate.
	key, certPEM, err := selfSigned()
	if err != nil {
		return err
	}
	signer := newRemoteSigner(key, latency)

	chain, err := s2n.NewPublicCertChain(certPEM)
	if err != nil {
		return err
	}
	defer chain.Close()
	server, err := s2n.NewConfig()
	if err != nil {
		return err
	}
	defer server.Close()
	client, err := s2n.NewConfig()
	if err != nil {
		return err
	}
	defer client.Close()
	for _, step := range []error{
		server.SetCipherPreferences(policy),
		server.AddCertChainAndKey(chain),
		server.SetAsyncPkeyValidationMode(s2n.ValidationStrict),
		server.SetAsyncPkeyCallback(signer.callback),
		client.SetCipherPreferences(policy),
		client.WipeTrustStore(),
		client.AddPEMToTrustStore(certPEM),
	} {
		if step != nil {
			return step
		}
	}

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	srv, err := newConn(s2n.ModeServer, server, fds[0])
	if err != nil {
		return err
	}
	defer srv.Close()
	cli, err := newConn(s2n.ModeClient, client, fds[1])
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := cli.SetServerName("localhost"); err != nil {
		return err
	}

	start := time.Now()
	var serverCalls, blockedOnKey int
	done := [2]bool{}
	for !(done[0] && done[1]) {
		if time.Since(start) > 10*time.Second {
			return errors.New("handshake timed out")
		}
		for i, c := range []*s2n.Connection{srv, cli} {
			if done[i] {
				continue
			}
			blocked, err := c.Negotiate()
			switch {
			case err == nil:
				done[i] = true
			case !errors.Is(err, s2n.ErrBlocked):
				return fmt.Errorf("handshake: %w", err)
			case i == 0:
				serverCalls++
				if blocked == s2n.BlockedOnApplicationInput {
					blockedOnKey++
				}
			}
		}
		// An event loop would wait for readiness or the signer's answer;
		// a short nap keeps the demo simple.
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)

	sigAlg, _ := srv.SelectedSignatureAlgorithm()
	hash, _ := srv.SelectedDigestAlgorithm()
	fmt.Printf("s2n-tls:           %s\n", s2n.Version())
	fmt.Printf("libcrypto:         %s\n", s2n.Libcrypto())
	fmt.Printf("protocol:          %s\n", srv.ProtocolVersion())
	fmt.Printf("cipher suite:      %s\n", srv.CipherSuite())
	fmt.Printf("signature:         %s with %s (offloaded, strict validation)\n", sigAlg, hash)
	fmt.Printf("key operations:    %d offloaded, %d answered by the remote signer\n", signer.ops.Load(), signer.answered.Load())
	fmt.Printf("server Negotiate:  %d calls returned BlockedOnApplicationInput while the key was away\n", blockedOnKey)
	fmt.Printf("handshake time:    %v (signer latency %v)\n", elapsed.Round(time.Millisecond), latency)
	return nil
}

func newConn(mode s2n.Mode, cfg *s2n.Config, fd int) (*s2n.Connection, error) {
	if err := syscall.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	c, err := s2n.NewConnection(mode)
	if err != nil {
		return nil, err
	}
	for _, step := range []error{c.SetConfig(cfg), c.SetFd(fd), c.SetBlinding(s2n.SelfServiceBlinding)} {
		if step != nil {
			c.Close()
			return nil, step
		}
	}
	return c, nil
}

// remoteSigner answers key operations from another goroutine after a delay.
type remoteSigner struct {
	key      crypto.Signer
	latency  time.Duration
	ops      atomic.Int32
	answered atomic.Int32
}

func newRemoteSigner(key crypto.Signer, latency time.Duration) *remoteSigner {
	return &remoteSigner{key: key, latency: latency}
}

// callback runs inside Negotiate: it copies the input out and returns at
// once; the answer is applied later, from another goroutine.
func (r *remoteSigner) callback(conn *s2n.Connection, op *s2n.AsyncPkeyOp) error {
	r.ops.Add(1)
	digest, err := op.Input()
	if err != nil {
		op.Free()
		return err
	}
	hash, err := conn.SelectedDigestAlgorithm()
	if err != nil {
		op.Free()
		return err
	}
	go func() {
		defer op.Free()
		time.Sleep(r.latency) // the network
		sig, err := r.key.Sign(rand.Reader, digest, hash.CryptoHash())
		if err == nil {
			err = op.SetOutput(sig)
		}
		if err == nil {
			err = op.Apply(conn)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "remote signer:", err)
			return
		}
		r.answered.Add(1)
	}()
	return nil
}

func selfSigned() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
