package redissession_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/redissession"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// A fleet of two server processes, one Redis: a client resumes on one
// server the session it made with the other, by TLS 1.3 ticket (shared
// ticket keys, no Redis) and by TLS 1.2 session ID (through Redis); with
// Redis stalled, then gone, handshakes complete as full handshakes and the
// servers say why.

// TestMain runs the suite, or, when the test starts this binary as a fleet
// server (S2N_FLEET_SERVER names it), that server.
func TestMain(m *testing.M) {
	if name := os.Getenv("S2N_FLEET_SERVER"); name != "" {
		if err := fleetServer(name); err != nil {
			fmt.Fprintf(os.Stderr, "[%s] %v\n", name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leak gate:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fleetServer is one server of the fleet: TLS 1.2 and 1.3, ticket keys from
// the shared secret's schedule, TLS 1.2 sessions in Redis (tickets only in
// TLS 1.3: RequireTicketForwardSecrecy). It prints "listening ADDR", then
// answers each connection with a line saying who served it and whether it
// resumed, until its standard input closes. Its log lines go to stderr.
func fleetServer(name string) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "["+name+"] "+format+"\n", args...)
	}
	secret, err := hex.DecodeString(os.Getenv("S2N_FLEET_SECRET"))
	if err != nil {
		return err
	}
	certPEM, err := os.ReadFile(os.Getenv("S2N_FLEET_CERT"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(os.Getenv("S2N_FLEET_KEY"))
	if err != nil {
		return err
	}
	timeout, err := time.ParseDuration(os.Getenv("S2N_FLEET_REDIS_TIMEOUT"))
	if err != nil {
		return err
	}

	cfg, err := s2n.NewConfig()
	if err != nil {
		return err
	}
	defer cfg.Close()
	ck, err := s2n.NewCertChainAndKey(certPEM, keyPEM)
	if err != nil {
		return err
	}
	defer ck.Close()
	client := redissession.NewClient(os.Getenv("S2N_FLEET_REDIS"), timeout)
	defer client.Close()
	cache := redissession.New(client, redissession.Options{Timeout: timeout, Logf: logf})
	defer cache.Close()
	schedule := &s2n.TicketKeySchedule{Secret: secret}
	for _, step := range []func() error{
		func() error { return cfg.SetCipherPreferences("default_tls13") },
		func() error { return cfg.AddCertChainAndKey(ck) },
		func() error { return cfg.SetSessionTickets(true) },
		func() error { return cfg.SetSessionCache(cache) },
		func() error { return cfg.RequireTicketForwardSecrecy(true) },
		func() error { return schedule.Apply(cfg, time.Now(), time.Hour) },
	} {
		if err := step(); err != nil {
			return err
		}
	}

	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", l.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			return nil
		}
		go func() {
			conn := c.(*s2n.Conn)
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			if err := conn.HandshakeContext(ctx); err != nil {
				logf("handshake failed: %v", err)
				return
			}
			st := conn.ConnectionState()
			logf("handshake in %v, resumed %t", time.Since(start).Round(time.Millisecond), st.DidResume)
			fmt.Fprintf(conn, "server=%s resumed=%t\n", name, st.DidResume)
		}()
	}
}

// fleetProc is a running fleet server.
type fleetProc struct {
	name, addr string
	cmd        *exec.Cmd
	stdin      io.Closer
	stderr     *syncBuffer
}

// startFleetServer starts this test binary as fleet server name; it is
// stopped (standard input closed, then killed if it lingers) when the test
// ends.
func startFleetServer(t *testing.T, name string, env ...string) *fleetProc {
	t.Helper()
	p := &fleetProc{name: name, stderr: &syncBuffer{}}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), append(env, "S2N_FLEET_SERVER="+name)...)
	p.cmd.Stderr = p.stderr
	stdin, err := p.cmd.StdinPipe()
	require.NoError(t, err)
	p.stdin = stdin
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		p.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("fleet server %s: %v; its log:\n%s", name, err, p.stderr.String())
			}
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-done
			t.Errorf("fleet server %s did not exit; its log:\n%s", name, p.stderr.String())
		}
		t.Logf("fleet server %s log:\n%s", name, p.stderr.String())
	})
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			select {
			case lines <- s.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		addr, ok := strings.CutPrefix(l, "listening ")
		require.True(t, ok, "fleet server %s printed %q", name, l)
		_, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		// The certificate's name, as the client's session cache key: the
		// same for both servers.
		p.addr = net.JoinHostPort("localhost", port)
	case <-time.After(30 * time.Second):
		t.Fatalf("fleet server %s did not start; its log:\n%s", name, p.stderr.String())
	}
	return p
}

// selfSigned is a certificate for localhost and its key, in PEM.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// fleetClient is a client Config for policy trusting certPEM, resuming
// through a client session cache; tickets counts the tickets it receives.
type fleetClient struct {
	cfg     *s2n.Config
	tickets int
}

func newFleetClient(t *testing.T, policy string, certPEM []byte) *fleetClient {
	t.Helper()
	fc := &fleetClient{}
	cfg, err := s2n.NewConfig()
	require.NoError(t, err)
	t.Cleanup(func() { cfg.Close() })
	require.NoError(t, cfg.SetCipherPreferences(policy))
	require.NoError(t, cfg.WipeTrustStore())
	require.NoError(t, cfg.AddPEMToTrustStore(certPEM))
	require.NoError(t, cfg.SetClientSessionCache(s2n.NewLRUClientSessionCache(1)))
	require.NoError(t, cfg.SetSessionTicketCallback(func(*s2n.Connection, *s2n.SessionTicket) error {
		fc.tickets++ // connections run one at a time
		return nil
	}))
	fc.cfg = cfg
	return fc
}

// handshakeBound is how long one handshake may take, Redis up, stalled or
// down: loose, since machines are noisy; what it catches is a handshake
// stuck behind Redis.
const handshakeBound = 5 * time.Second

// connect runs one connection to server p within handshakeBound and
// returns the server's line, checking that the client's DidResume agrees
// with it, and the session ID.
func (fc *fleetClient) connect(t *testing.T, p *fleetProc, wantResumed bool) (sessionID []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), handshakeBound)
	defer cancel()
	conn, err := s2n.DialContext(ctx, "tcp", p.addr, fc.cfg)
	require.NoError(t, err, "handshake with %s within %v; its log:\n%s", p.name, handshakeBound, p.stderr.String())
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(handshakeBound)))
	// Reading the line also takes in the TLS 1.3 tickets sent before it.
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("server=%s resumed=%t\n", p.name, wantResumed), line)
	require.Equal(t, wantResumed, conn.ConnectionState().DidResume, "client's DidResume")
	id, err := conn.Connection().SessionID()
	require.NoError(t, err)
	return id
}

// waitLog waits until p has logged a line containing sub.
func waitLog(t *testing.T, p *fleetProc, sub string) {
	t.Helper()
	eventually(t, fmt.Sprintf("server %s to log %q", p.name, sub), func() bool {
		return strings.Contains(p.stderr.String(), sub)
	})
}

func TestFleet(t *testing.T) {
	r := startRedis(t)
	rc := r.client(t)
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	env := []string{
		"S2N_FLEET_REDIS=" + r.Addr,
		"S2N_FLEET_REDIS_TIMEOUT=300ms",
		"S2N_FLEET_SECRET=" + hex.EncodeToString(secret),
		"S2N_FLEET_CERT=" + writeFile(t, dir, "cert.pem", certPEM),
		"S2N_FLEET_KEY=" + writeFile(t, dir, "key.pem", keyPEM),
	}
	a := startFleetServer(t, "A", env...)
	b := startFleetServer(t, "B", env...)

	// TLS 1.3: a ticket from A resumes on B, the servers sharing only the
	// secret of their ticket keys.
	tls13 := newFleetClient(t, "default_tls13", certPEM)
	tls13.connect(t, a, false)
	tls13.connect(t, b, true)
	require.Positive(t, tls13.tickets)

	// TLS 1.2: A stores the session in Redis under its session ID; B finds
	// it there and resumes it. No tickets.
	tls12 := newFleetClient(t, "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", certPEM)
	id := tls12.connect(t, a, false)
	require.NotEmpty(t, id)
	stored := waitKey(t, rc, "s2n:session:"+hex.EncodeToString(id))
	require.NotContains(t, string(stored), string(id), "what Redis holds is encrypted")
	ttl, err := rc.TTL(context.Background(), "s2n:session:"+hex.EncodeToString(id)).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, time.Hour, "stored with s2n's ttl (6 hours)")
	require.Equal(t, id, tls12.connect(t, b, true), "resumed under A's session ID")
	require.Zero(t, tls12.tickets, "TLS 1.2 resumed by session ID, not by ticket")

	// Redis stalls (its port accepts, nothing answers): B's lookup times
	// out, the handshake completes as a full one, and B says why.
	r.signal(t, syscall.SIGSTOP)
	tls12.connect(t, b, false)
	waitLog(t, b, "[B] redissession: Redis GET failed")
	waitLog(t, b, "full handshakes")
	// TLS 1.3 tickets need no Redis.
	tls13.connect(t, a, true)

	// Redis is gone: the same, at once.
	r.stop()
	tls12.connect(t, a, false)
	tls12.connect(t, b, false)
	waitLog(t, a, "[A] redissession: Redis ")
	tls13.connect(t, b, true)
	require.NotContains(t, a.stderr.String()+b.stderr.String(), "handshake failed")
}
