package s2n

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parsedHello is a ClientHello parsed here, independently of s2n, from the
// message body (after the 4-byte handshake header).
type parsedHello struct {
	version    uint16
	random     []byte
	sessionID  []byte
	suites     []uint16
	comp       []byte
	extOrder   []uint16
	ext        map[uint16][]byte
	serverName string
}

func parseHelloBody(t *testing.T, b []byte) parsedHello {
	t.Helper()
	take := func(n int) []byte {
		require.GreaterOrEqual(t, len(b), n, "truncated ClientHello")
		out := b[:n]
		b = b[n:]
		return out
	}
	u8 := func() int { return int(take(1)[0]) }
	u16 := func() int { return int(binary.BigEndian.Uint16(take(2))) }
	var h parsedHello
	h.version = uint16(u16())
	h.random = take(32)
	h.sessionID = take(u8())
	for s := take(u16()); len(s) >= 2; s = s[2:] {
		h.suites = append(h.suites, binary.BigEndian.Uint16(s))
	}
	h.comp = take(u8())
	h.ext = map[uint16][]byte{}
	for e := take(u16()); len(e) >= 4; {
		id, n := binary.BigEndian.Uint16(e), int(binary.BigEndian.Uint16(e[2:]))
		h.extOrder = append(h.extOrder, id)
		h.ext[id] = e[4 : 4+n]
		e = e[4+n:]
	}
	if sni, ok := h.ext[0]; ok && len(sni) > 5 {
		h.serverName = string(sni[5 : 5+int(binary.BigEndian.Uint16(sni[3:]))])
	}
	return h
}

func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

func noGREASE(vs []uint16) []uint16 {
	return slices.DeleteFunc(slices.Clone(vs), isGREASE)
}

func u16List(b []byte, skip int) []uint16 {
	var out []uint16
	for b = b[skip:]; len(b) >= 2; b = b[2:] {
		out = append(out, binary.BigEndian.Uint16(b))
	}
	return out
}

func joinUints(vs []uint16, sep, format string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf(format, v)
	}
	return strings.Join(parts, sep)
}

// ja3 computes the JA3 string and hash of h, from the JA3 description.
func ja3(h parsedHello) (hash, raw string) {
	var points []string
	if pf, ok := h.ext[11]; ok && len(pf) > 0 {
		for _, p := range pf[1:] {
			points = append(points, strconv.Itoa(int(p)))
		}
	}
	var groups []uint16
	if g, ok := h.ext[10]; ok {
		groups = noGREASE(u16List(g, 2))
	}
	raw = strings.Join([]string{
		strconv.Itoa(int(h.version)),
		joinUints(noGREASE(h.suites), "-", "%d"),
		joinUints(noGREASE(h.extOrder), "-", "%d"),
		joinUints(groups, "-", "%d"),
		strings.Join(points, "-"),
	}, ",")
	sum := md5.Sum([]byte(raw))
	return hex.EncodeToString(sum[:]), raw
}

// ja4 computes the JA4 fingerprint and its raw form (JA4_r) of h, from the
// JA4 description, for TCP.
func ja4(h parsedHello) (hash, raw string) {
	version := h.version
	if sv, ok := h.ext[43]; ok {
		version = slices.Max(noGREASE(u16List(sv, 1)))
	}
	versions := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}
	sni := "i"
	if _, ok := h.ext[0]; ok {
		sni = "d"
	}
	alpn := "00"
	if a, ok := h.ext[16]; ok && len(a) > 3 {
		first := a[3 : 3+int(a[2])]
		alpn = string(first[0]) + string(first[len(first)-1])
	}
	suites := noGREASE(h.suites)
	exts := noGREASE(h.extOrder)
	prefix := fmt.Sprintf("t%s%s%02d%02d%s", versions[version], sni, min(len(suites), 99), min(len(exts), 99), alpn)
	sorted := slices.Sorted(slices.Values(suites))
	var sortedExts []uint16
	for _, e := range exts {
		if e != 0 && e != 16 {
			sortedExts = append(sortedExts, e)
		}
	}
	slices.Sort(sortedExts)
	var sigs []uint16
	if s, ok := h.ext[13]; ok {
		sigs = u16List(s, 2)
	}
	cipherPart := joinUints(sorted, ",", "%04x")
	extPart := joinUints(sortedExts, ",", "%04x")
	if len(sigs) > 0 {
		extPart += "_" + joinUints(sigs, ",", "%04x")
	}
	trunc := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:12]
	}
	return prefix + "_" + trunc(cipherPart) + "_" + trunc(extPart), prefix + "_" + cipherPart + "_" + extPart
}

// TestClientHelloFingerprints: s2n's JA3 and JA4 fingerprints of a fixed
// ClientHello (crypto/tls's, captured once: testdata/clienthello-crypto-tls.hex)
// equal those computed here from the JA3 and JA4 descriptions.
func TestClientHelloFingerprints(t *testing.T) {
	b, err := os.ReadFile("testdata/clienthello-crypto-tls.hex")
	require.NoError(t, err)
	msg, err := hex.DecodeString(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	require.Equal(t, byte(1), msg[0], "a ClientHello handshake message")
	h := parseHelloBody(t, msg[4:])

	ch, err := ParseClientHello(msg)
	require.NoError(t, err)
	defer ch.Close()
	wantJA3, wantJA3Raw := ja3(h)
	gotHash, gotRaw, err := ch.Fingerprint(FingerprintJA3)
	require.NoError(t, err)
	require.Equal(t, wantJA3Raw, gotRaw)
	require.Equal(t, wantJA3, gotHash)
	wantJA4, wantJA4Raw := ja4(h)
	gotHash, gotRaw, err = ch.Fingerprint(FingerprintJA4)
	require.NoError(t, err)
	require.Equal(t, wantJA4Raw, gotRaw)
	require.Equal(t, wantJA4, gotHash)
	t.Logf("JA3 %s, JA4 %s", wantJA3, wantJA4)

	_, _, err = ch.Fingerprint(FingerprintType(7))
	requireUsage(t, err, nameInvalidArg)
	require.NoError(t, ch.Close())
	require.NoError(t, ch.Close(), "Close is idempotent")
	_, err = ch.CipherSuites()
	requireUsage(t, err, nameClosed)

	_, err = ParseClientHello([]byte{1, 0, 0, 9, 3, 3})
	var se *Error
	require.ErrorAs(t, err, &se, "a truncated message")
	_, err = ParseClientHello(nil)
	requireUsage(t, err, nameInvalidArg)
}

// requireUsage asserts a binding usage error of the given name.
func requireUsage(t *testing.T, err error, name string) {
	t.Helper()
	var se *Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, name, se.Name)
	require.ErrorIs(t, err, ErrUsage)
}

// helloCapture records the first record a connection receives.
type helloCapture struct {
	net.Conn
	once  sync.Once
	first chan []byte
}

func (c *helloCapture) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.once.Do(func() { c.first <- append([]byte(nil), b[:n]...) })
	}
	return n, err
}

// helloListener wraps each accepted connection in a helloCapture.
type helloListener struct {
	net.Listener
	first chan []byte
}

func (l *helloListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &helloCapture{Conn: c, first: l.first}, nil
}

// serveHello runs one handshake of a crypto/tls client against a server on
// cfg, and returns the server's handshake error, the client's, and the
// ClientHello message body the server received.
func serveHello(t *testing.T, cfg *Config, client *tls.Config) (serverErr, clientErr error, body []byte) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl := &helloListener{Listener: raw, first: make(chan []byte, 1)}
	l := NewListener(hl, cfg)
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		served <- c.(*Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", raw.Addr().String(), client)
	if err == nil {
		c.Close()
	}
	serverErr = <-served
	rec := <-hl.first
	require.Greater(t, len(rec), 9)
	return serverErr, err, rec[9:]
}

// TestClientHelloCallback: a blocking ClientHello callback reads what the
// client sent: each accessor agrees with the bytes on the wire.
func TestClientHelloCallback(t *testing.T) {
	ec, _, _ := testKeys(t)
	type seen struct {
		name           string
		raw, random    []byte
		sid, comp      []byte
		suites, groups []uint16
		alpn           []byte
		hasALPN        bool
		legacy, record uint16
		version        ProtocolVersion
		missing        bool
	}
	got := make(chan seen, 1)
	cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}, "h2")
	require.NoError(t, cfg.SetClientHelloCallback(func(conn *Connection, ch *ClientHello) error {
		var s seen
		var err error
		s.name, err = ch.ServerName()
		require.NoError(t, err)
		s.raw, err = ch.Raw()
		require.NoError(t, err)
		s.random, err = ch.Random()
		require.NoError(t, err)
		s.sid, err = ch.SessionID()
		require.NoError(t, err)
		s.comp, err = ch.CompressionMethods()
		require.NoError(t, err)
		s.suites, err = ch.CipherSuites()
		require.NoError(t, err)
		s.groups, err = ch.SupportedGroups()
		require.NoError(t, err)
		s.alpn, s.hasALPN, err = ch.Extension(16)
		require.NoError(t, err)
		_, ok, err := ch.Extension(0xfe0d) // encrypted_client_hello: not sent
		require.NoError(t, err)
		s.missing = !ok
		s.legacy, err = ch.LegacyVersion()
		require.NoError(t, err)
		s.record, err = ch.LegacyRecordVersion()
		require.NoError(t, err)
		s.version, err = conn.ClientHelloVersion()
		require.NoError(t, err)
		got <- s
		return nil
	}, ClientHelloBlocking))
	serverErr, clientErr, body := serveHello(t, cfg, &tls.Config{
		ServerName: "localhost", RootCAs: certPool(ec), NextProtos: []string{"h2"},
	})
	require.NoError(t, serverErr)
	require.NoError(t, clientErr)
	s := <-got
	h := parseHelloBody(t, body)
	require.Equal(t, "localhost", s.name)
	require.Equal(t, h.random, s.random)
	withRandom := slices.Clone(s.raw)
	copy(withRandom[2:34], s.random)
	require.Equal(t, body, withRandom, "Raw is the message body, its random zeroed")
	require.Equal(t, h.sessionID, s.sid)
	require.Equal(t, h.comp, s.comp)
	require.Equal(t, h.suites, s.suites)
	require.Equal(t, u16List(h.ext[10], 2), s.groups)
	require.True(t, s.hasALPN)
	require.Equal(t, h.ext[16], s.alpn)
	require.True(t, s.missing)
	require.Equal(t, h.version, s.legacy)
	require.Equal(t, uint16(0x0301), s.record, "crypto/tls sends its first record as TLS 1.0")
	require.Equal(t, TLS12, s.version, "a TLS 1.3 ClientHello is a TLS 1.2 one on the wire")
}

// TestClientHelloCallbackPicksConfig: in non-blocking mode the callback
// returns at once; a goroutine picks the Config for the server name later
// and finishes with ClientHelloDone. The Conn's handshake waits parked, then
// serves the chosen certificate.
func TestClientHelloCallbackPicksConfig(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	other := makeTestKeyFor(t, "other", "other.example", ec2.signer)
	byName := map[string]*Config{
		"other.example": signerConfig(t, "default_tls13", other, &faultySigner{key: ec2.signer}),
	}
	front := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	require.NoError(t, front.SetClientHelloCallback(func(conn *Connection, ch *ClientHello) error {
		name, err := ch.ServerName()
		if err != nil {
			return err
		}
		go func() {
			time.Sleep(20 * time.Millisecond) // a slow lookup
			if cfg := byName[name]; cfg != nil {
				if err := conn.SetConfig(cfg); err != nil {
					t.Errorf("SetConfig: %v", err)
				}
				if err := conn.ServerNameExtensionUsed(); err != nil {
					t.Errorf("ServerNameExtensionUsed: %v", err)
				}
			}
			err := conn.ClientHelloDone()
			if err != nil {
				t.Errorf("ClientHelloDone: %v", err)
			}
		}()
		return nil
	}, ClientHelloNonBlocking))
	for _, tc := range []struct {
		name string
		key  *testKey
	}{{"other.example", other}, {"localhost", ec}} {
		serverErr, clientErr, _ := serveHello(t, front, &tls.Config{ServerName: tc.name, RootCAs: certPool(tc.key)})
		require.NoError(t, serverErr, tc.name)
		require.NoError(t, clientErr, tc.name)
	}
}

// TestClientHelloCallbackRefuses: an error or a panic of the callback ends
// the handshake with it as the cause.
func TestClientHelloCallbackRefuses(t *testing.T) {
	ec, _, _ := testKeys(t)
	refused := errors.New("no such tenant")
	for _, panics := range []bool{false, true} {
		cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
		require.NoError(t, cfg.SetClientHelloCallback(func(*Connection, *ClientHello) error {
			if panics {
				panic("lookup exploded")
			}
			return refused
		}, ClientHelloBlocking))
		serverErr, clientErr, _ := serveHello(t, cfg, &tls.Config{ServerName: "localhost", RootCAs: certPool(ec)})
		require.Error(t, clientErr)
		if panics {
			var pe *PanicError
			require.ErrorAs(t, serverErr, &pe)
			require.Equal(t, "lookup exploded", pe.Value)
		} else {
			require.ErrorIs(t, serverErr, refused)
		}
	}
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireUsage(t, cfg.SetClientHelloCallback(nil, ClientHelloCallbackMode(9)), nameInvalidArg)
}

// TestSetConfigForClient: a slow lookup picks the Config by server name off
// the handshake's thread; nil keeps the Config; an error or a panic ends the
// handshake with it as the cause.
func TestSetConfigForClient(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	other := makeTestKeyFor(t, "other", "other.example", ec2.signer)
	otherCfg := signerConfig(t, "default_tls13", other, &faultySigner{key: ec2.signer})
	lookupErr := errors.New("tenant store unavailable")
	front := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
	require.NoError(t, front.SetConfigForClient(func(ch *ClientHello) (*Config, error) {
		name, err := ch.ServerName()
		if err != nil {
			return nil, err
		}
		time.Sleep(30 * time.Millisecond) // a slow lookup
		switch name {
		case "other.example":
			return otherCfg, nil
		case "down.example":
			return nil, lookupErr
		case "panic.example":
			panic("lookup exploded")
		}
		return nil, nil
	}))
	for _, tc := range []struct {
		name string
		key  *testKey
	}{{"other.example", other}, {"localhost", ec}} {
		serverErr, clientErr, _ := serveHello(t, front, &tls.Config{ServerName: tc.name, RootCAs: certPool(tc.key)})
		require.NoError(t, serverErr, tc.name)
		require.NoError(t, clientErr, tc.name)
	}
	serverErr, clientErr, _ := serveHello(t, front, &tls.Config{ServerName: "down.example", RootCAs: certPool(ec)})
	require.Error(t, clientErr)
	require.ErrorIs(t, serverErr, lookupErr)
	requireS2nError(t, serverErr, nameAsyncFailed)
	serverErr, clientErr, _ = serveHello(t, front, &tls.Config{ServerName: "panic.example", RootCAs: certPool(ec)})
	require.Error(t, clientErr)
	var pe *PanicError
	require.ErrorAs(t, serverErr, &pe)
}

// TestSetConfigForClientParksNegotiate: on the low level, Negotiate reports
// BlockedOnApplicationInput while the lookup runs, then the handshake
// completes with the chosen Config.
func TestSetConfigForClientParksNegotiate(t *testing.T) {
	ec, _, _ := testKeys(t)
	release := make(chan struct{})
	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, cfg.SetConfigForClient(func(*ClientHello) (*Config, error) {
		<-release
		return nil, nil
	}))
	p := newPair(t, cfg, clientConfig(t, "default_tls13", ec))
	var blocked Blocked
	for range 100 {
		p.client.Negotiate()
		var err error
		blocked, err = p.server.Negotiate()
		if blocked == BlockedOnApplicationInput {
			require.ErrorIs(t, err, ErrBlocked)
			break
		}
	}
	require.Equal(t, BlockedOnApplicationInput, blocked, "parked on the lookup")
	close(release)
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
}
