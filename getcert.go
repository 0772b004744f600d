//go:build cgo

package s2n

// crypto/tls's certificate hook over s2n's ClientHello callback: the
// certificate an application returns is loaded into a Config derived from
// this one, which the connection switches to.

import (
	"bytes"
	"container/list"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"unsafe"
)

// ACMEProtocol is the ALPN protocol of ACME's TLS-ALPN-01 challenge
// (RFC 8737).
const ACMEProtocol = "acme-tls/1"

// maxCertConfigs bounds the derived Configs a SetGetCertificate hook keeps.
const maxCertConfigs = 32

// SetGetCertificate sets a function that returns the certificate of each
// server connection from its ClientHello, like crypto/tls's
// Config.GetCertificate, so that certificate managers written for
// crypto/tls work unchanged: golang.org/x/crypto/acme/autocert's
// Manager.GetCertificate, certmagic's, or a lookup of your own. fn nil
// removes it; it replaces any ClientHello callback of this Config, as
// SetConfigForClient does.
//
// fn runs on a goroutine of its own, off the handshake's thread (s2n's
// ClientHello callback in ClientHelloNonBlocking mode, as for
// SetConfigForClient): a certificate being issued parks the handshake, not
// an OS thread. Its ClientHelloInfo is filled from s2n's ClientHello:
// ServerName, CipherSuites, SupportedCurves, SupportedPoints,
// SignatureSchemes, SupportedProtos, SupportedVersions (from the legacy
// version when the client sent no supported_versions, as crypto/tls does),
// Extensions, Conn and Context. Conn is the net.Conn under a [Conn] and
// nil on the low level (a [Connection] driven with Negotiate); Context is
// the context of [Conn.HandshakeContext], context.Background() on the low
// level. HelloRetryRequest is always false: s2n calls it once per
// handshake. SupportsCertificate works with crypto/tls's defaults, not
// with this Config's policy.
//
// The returned certificate is served from a Config derived from this one
// (its settings as [Config.Clone] makes them, without this Config's
// certificate chains and ClientHello callback) holding only that chain:
// Certificate (DER, leaf first) loaded public-only, and PrivateKey, which
// must be a crypto.Signer matching the leaf, used through
// [Config.AddCertChainWithSigner] (every signature offloaded to it on a
// goroutine). When the client offers [ACMEProtocol] (ACME's TLS-ALPN-01
// validation, which autocert answers through this hook), the derived
// Config negotiates that protocol only. Derived Configs are kept, up to 32,
// the least recently used closed first (connections using one keep it), by
// certificate: the chain's bytes and the private key, so that a renewed
// certificate (a new chain) is loaded on first use. OCSPStaple,
// SignedCertificateTimestamps and SupportedSignatureAlgorithms of the
// returned certificate are not used.
//
// An error or a panic of fn ends the handshake with it as the cause. A nil
// certificate with a nil error keeps this Config, as crypto/tls falls back
// to Config.Certificates, when it has chains of its own, and otherwise ends
// the handshake with an error saying so; so does a certificate without a
// chain, or whose key is not a crypto.Signer or not the leaf's.
//
// The connection keeps the derived Config after the handshake: to reuse a
// wiped [Connection], SetConfig this Config again.
func (c *Config) SetGetCertificate(fn func(*tls.ClientHelloInfo) (*tls.Certificate, error)) error {
	rec := setting{name: "SetGetCertificate", kind: settingHello, replay: func(d *Config) error { return d.SetGetCertificate(fn) }}
	if fn == nil || c == nil || c.s == nil {
		return c.setClientHello(nil, ClientHelloBlocking, rec)
	}
	cache := &certConfigCache{base: c.s, fn: fn, byKey: make(map[certConfigKey]*list.Element)}
	err := c.setClientHello(func(conn *Connection, ch *ClientHello) error {
		s := conn.state()
		info, err := clientHelloInfo(s, ch)
		if err != nil {
			return err
		}
		gen := s.gen.Load()
		go func() {
			cfg, err := cache.configFor(info)
			s.finishHello(gen, cfg, err)
			if cfg != nil {
				cfg.Close() // the connection holds its own reference
			}
		}()
		return nil
	}, ClientHelloNonBlocking, rec)
	if err != nil {
		return err
	}
	c.s.mu.Lock()
	old := c.s.certConfigs
	c.s.certConfigs = cache
	freed := c.s.ptr == nil
	c.s.mu.Unlock()
	if old != nil {
		old.close()
	}
	if freed {
		cache.close()
	}
	return nil
}

// certConfigKey names a certificate: a hash of its chain, its key, and
// whether the derived Config answers TLS-ALPN-01.
type certConfigKey struct {
	chain [sha256.Size]byte
	key   any // the crypto.Signer if comparable, else the *tls.Certificate
	acme  bool
}

type certConfigEntry struct {
	key certConfigKey
	cfg *Config
}

// certConfigCache holds the Configs derived for the certificates a
// SetGetCertificate function returned, most recently used first.
type certConfigCache struct {
	base *configState
	fn   func(*tls.ClientHelloInfo) (*tls.Certificate, error)

	mu     sync.Mutex
	lru    list.List // of *certConfigEntry
	byKey  map[certConfigKey]*list.Element
	closed bool
}

// configFor runs fn and returns the Config that serves its certificate,
// with a reference of its own for the caller to Close; nil to keep the
// base Config.
func (cc *certConfigCache) configFor(info *tls.ClientHelloInfo) (*Config, error) {
	cert, err := callGetCertificate(cc.fn, info)
	if err != nil {
		return nil, err
	}
	if cert == nil {
		cc.base.mu.Lock()
		own := len(cc.base.certs) > 0
		cc.base.mu.Unlock()
		if own {
			return nil, nil
		}
		return nil, usageError(nameInvalidArg, "GetCertificate returned no certificate for %q and the Config has none of its own", info.ServerName)
	}
	if len(cert.Certificate) == 0 {
		return nil, usageError(nameInvalidArg, "GetCertificate returned a certificate without a chain")
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, usageError(nameInvalidArg, "GetCertificate returned a certificate whose private key (%T) is not a crypto.Signer", cert.PrivateKey)
	}
	key := certConfigKey{acme: slices.Contains(info.SupportedProtos, ACMEProtocol), key: any(cert)}
	if v := reflect.ValueOf(signer); v.Comparable() {
		key.key = signer
	}
	h := sha256.New()
	for _, der := range cert.Certificate {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(der)))
		h.Write(n[:])
		h.Write(der)
	}
	h.Sum(key.chain[:0])

	if cfg := cc.get(key); cfg != nil {
		return cfg, nil
	}
	cfg, err := cc.derive(cert, signer, key.acme)
	if err != nil {
		return nil, err
	}
	if cfg = cc.put(key, cfg); cfg == nil {
		return nil, closedError("config")
	}
	return cfg, nil
}

// get returns the Config kept for key, with a reference for the caller.
func (cc *certConfigCache) get(key certConfigKey) *Config {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if el, ok := cc.byKey[key]; ok {
		cc.lru.MoveToFront(el)
		return handOut(el.Value.(*certConfigEntry).cfg)
	}
	return nil
}

// put keeps cfg for key, or the Config another handshake kept for it
// meanwhile, and returns it with a reference for the caller. The least
// recently used Config beyond the bound is closed.
func (cc *certConfigCache) put(key certConfigKey, cfg *Config) *Config {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed {
		return cfg // the caller's Close frees it
	}
	if el, ok := cc.byKey[key]; ok {
		cc.lru.MoveToFront(el)
		cfg.Close()
		return handOut(el.Value.(*certConfigEntry).cfg)
	}
	cc.byKey[key] = cc.lru.PushFront(&certConfigEntry{key: key, cfg: cfg})
	for cc.lru.Len() > maxCertConfigs {
		e := cc.lru.Remove(cc.lru.Back()).(*certConfigEntry)
		delete(cc.byKey, e.key)
		e.cfg.Close()
	}
	return handOut(cfg)
}

// handOut returns a second *Config over cfg's state, holding a reference
// of its own, so that the cache may close cfg while the caller uses it.
func handOut(cfg *Config) *Config {
	if !cfg.s.acquire() {
		return nil
	}
	return &Config{s: cfg.s}
}

// close closes every kept Config; Configs derived later are not kept.
func (cc *certConfigCache) close() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.closed = true
	for el := cc.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*certConfigEntry).cfg.Close()
	}
	cc.lru.Init()
	clear(cc.byKey)
}

// derive makes the Config that serves cert: the base's settings without
// its chains and ClientHello callback, and cert's chain with signer.
func (cc *certConfigCache) derive(cert *tls.Certificate, signer crypto.Signer, acme bool) (*Config, error) {
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("s2n: GetCertificate returned a certificate whose leaf does not parse: %w", err)
		}
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.PublicKey) {
		return nil, usageError(nameInvalidArg, "GetCertificate returned a certificate whose private key does not match its leaf")
	}
	var chain bytes.Buffer
	for _, der := range cert.Certificate {
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	cfg, err := cc.base.clone(func(k settingKind) bool { return k != settingPlain })
	if err != nil {
		return nil, err
	}
	err = cfg.AddCertChainWithSigner(chain.Bytes(), signer)
	if err == nil && acme {
		err = cfg.SetProtocolPreferences([]string{ACMEProtocol})
	}
	if err != nil {
		cfg.Close()
		return nil, err
	}
	return cfg, nil
}

// callGetCertificate runs fn; a panic becomes a *PanicError.
func callGetCertificate(fn func(*tls.ClientHelloInfo) (*tls.Certificate, error), info *tls.ClientHelloInfo) (cert *tls.Certificate, err error) {
	defer func() {
		if r := recover(); r != nil {
			cert, err = nil, &PanicError{Value: r}
		}
	}()
	return fn(info)
}

// TLS extension codes read into a ClientHelloInfo.
const (
	extSupportedGroups     = 10
	extECPointFormats      = 11
	extSignatureAlgorithms = 13
	extALPN                = 16
	extSupportedVersions   = 43
)

// clientHelloInfo fills a crypto/tls ClientHelloInfo from s2n's ClientHello,
// read inside the ClientHello callback, as crypto/tls fills it.
func clientHelloInfo(s *connState, ch *ClientHello) (*tls.ClientHelloInfo, error) {
	info := &tls.ClientHelloInfo{Conn: s.netConn}
	var err error
	if info.ServerName, err = ch.ServerName(); err != nil {
		return nil, err
	}
	if info.CipherSuites, err = ch.CipherSuites(); err != nil {
		return nil, err
	}
	exts, err := ch.Extensions()
	if err != nil {
		return nil, err
	}
	for len(exts) >= 4 {
		id, n := binary.BigEndian.Uint16(exts), int(binary.BigEndian.Uint16(exts[2:]))
		if len(exts) < 4+n {
			break
		}
		data := exts[4 : 4+n]
		exts = exts[4+n:]
		info.Extensions = append(info.Extensions, id)
		switch id {
		case extSupportedGroups:
			for _, g := range uint16s(vector(data, 2)) {
				info.SupportedCurves = append(info.SupportedCurves, tls.CurveID(g))
			}
		case extECPointFormats:
			info.SupportedPoints = slices.Clone(vector(data, 1))
		case extSignatureAlgorithms:
			for _, sc := range uint16s(vector(data, 2)) {
				info.SignatureSchemes = append(info.SignatureSchemes, tls.SignatureScheme(sc))
			}
		case extALPN:
			for list := vector(data, 2); len(list) > 0 && len(list) > int(list[0]); list = list[1+int(list[0]):] {
				info.SupportedProtos = append(info.SupportedProtos, string(list[1:1+int(list[0])]))
			}
		case extSupportedVersions:
			info.SupportedVersions = uint16s(vector(data, 1))
		}
	}
	if info.SupportedVersions == nil {
		legacy, err := ch.LegacyVersion()
		if err != nil {
			return nil, err
		}
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12, tls.VersionTLS11, tls.VersionTLS10} {
			if v <= legacy {
				info.SupportedVersions = append(info.SupportedVersions, v)
			}
		}
	}
	ctx := s.hsCtx
	if ctx == nil {
		ctx = context.Background()
	}
	setHelloContext(info, ctx)
	return info, nil
}

// vector returns the body of a vector with a length prefix of n bytes (1
// or 2), or nil if it is malformed.
func vector(b []byte, n int) []byte {
	if len(b) < n {
		return nil
	}
	l := int(b[0])
	if n == 2 {
		l = int(binary.BigEndian.Uint16(b))
	}
	if len(b) < n+l {
		return nil
	}
	return b[n : n+l]
}

// setHelloContext sets what info.Context returns. crypto/tls keeps it in an
// unexported field, ctx, and has no way to set it from outside; the field
// is written through reflect, and left nil if a Go release renames or
// retypes it (TestGetCertificateClientHelloInfo then fails).
func setHelloContext(info *tls.ClientHelloInfo, ctx context.Context) {
	f := reflect.ValueOf(info).Elem().FieldByName("ctx")
	if !f.IsValid() || f.Type() != reflect.TypeFor[context.Context]() {
		return
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(ctx))
}
