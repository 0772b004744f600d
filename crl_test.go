package s2n

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// crlPEM is a CRL signed by ca that revokes the given certificates, valid
// from thisUpdate to nextUpdate.
func crlPEM(t testing.TB, ca *testKey, thisUpdate, nextUpdate time.Time, revoked ...*testKey) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, k := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: k.cert.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.signer)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// crlSetup is a server that requires client certificates from ca and
// checks them against CRLs, and two clients of ca: good, and revoked by
// the CRL.
type crlSetup struct {
	ca, good, revoked *testKey
	crl               []byte
}

func newCRLSetup(t testing.TB) crlSetup {
	ca := newTestCA(t, "CRL test CA")
	s := crlSetup{ca: ca, good: ca.issue(t, "good client", "localhost", 2), revoked: ca.issue(t, "revoked client", "localhost", 3)}
	s.crl = crlPEM(t, ca, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), s.revoked)
	return s
}

// serve runs one server handshake with lookup as the CRL lookup callback
// against a crypto/tls client presenting client's certificate, and returns
// the server's error.
func (s crlSetup) serve(t *testing.T, client *testKey, lookup CRLLookupFunc) error {
	t.Helper()
	ec, _, _ := testKeys(t)
	cfg := quickBlinding(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: s.ca, clientAuth: ClientAuthRequired}))
	require.NoError(t, cfg.SetCRLLookupCallback(lookup))
	addr, served := serveResults(t, cfg, 1, func(c *Conn) error { return c.Handshake() })
	goCfg := goTLSClientConfig(ec)
	goCfg.Certificates = []tls.Certificate{goCert(client)}
	c, err := tls.Dial("tcp", addr, goCfg)
	if err == nil {
		// A TLS 1.3 client is done before the server has checked its
		// certificate: the server's verdict arrives with the first read.
		c.SetReadDeadline(time.Now().Add(testHandshakeTimeout))
		c.Read(make([]byte, 1))
		c.Close()
	}
	return await(t, served, "server handshake")
}

// loadCRL is a lookup that answers every certificate with a new CRL from
// pemBytes, closed as soon as it is handed over (the connection keeps it).
func loadCRL(t *testing.T, pemBytes []byte, calls *atomic.Int32) CRLLookupFunc {
	return func(_ *Connection, lookup *CRLLookup) error {
		calls.Add(1)
		crl, err := NewCRL(pemBytes)
		if err != nil {
			return err
		}
		defer crl.Close()
		want, err := crl.IssuerHash()
		if err != nil {
			return err
		}
		got, err := lookup.CertIssuerHash()
		if err != nil {
			return err
		}
		if got != want {
			return lookup.Ignore()
		}
		return lookup.Set(crl)
	}
}

// TestCRLRevokedClientCert: a server checking client certificates against
// its CA's CRL refuses the revoked one with S2N_ERR_CERT_REVOKED and
// accepts the other; a lookup that provides no CRL fails the chain with
// S2N_ERR_CRL_LOOKUP_FAILED.
func TestCRLRevokedClientCert(t *testing.T) {
	s := newCRLSetup(t)
	var calls atomic.Int32
	require.NoError(t, s.serve(t, s.good, loadCRL(t, s.crl, &calls)))
	require.Equal(t, int32(1), calls.Load(), "one lookup per certificate sent")

	err := s.serve(t, s.revoked, loadCRL(t, s.crl, &calls))
	requireS2nError(t, err, "S2N_ERR_CERT_REVOKED", ErrProto)
	require.Contains(t, err.Error(), "Certificate has been revoked by the CA")

	err = s.serve(t, s.good, func(_ *Connection, lookup *CRLLookup) error { return lookup.Ignore() })
	requireS2nError(t, err, "S2N_ERR_CRL_LOOKUP_FAILED")
}

// TestCRLLookupAsync: a lookup answered later from a goroutine parks the
// Conn handshake until then; the answer decides it.
func TestCRLLookupAsync(t *testing.T) {
	s := newCRLSetup(t)
	for _, client := range []*testKey{s.good, s.revoked} {
		t.Run(client.name, func(t *testing.T) {
			var calls atomic.Int32
			sync := loadCRL(t, s.crl, &calls)
			answered := make(chan error, 1)
			err := s.serve(t, client, func(conn *Connection, lookup *CRLLookup) error {
				go func() {
					time.Sleep(20 * time.Millisecond) // a CRL fetched from afar
					answered <- sync(conn, lookup)
				}()
				return nil
			})
			require.NoError(t, await(t, answered, "the lookup's answer"))
			if client == s.good {
				require.NoError(t, err)
			} else {
				requireS2nError(t, err, "S2N_ERR_CERT_REVOKED")
			}
		})
	}
}

// TestCRLLookupFails: an error or a panic of the lookup fails the
// handshake with it as the cause.
func TestCRLLookupFails(t *testing.T) {
	s := newCRLSetup(t)
	unreachable := errors.New("CRL distribution point unreachable")
	err := s.serve(t, s.good, func(*Connection, *CRLLookup) error { return unreachable })
	requireS2nError(t, err, "S2N_ERR_CANCELLED", unreachable)
	err = s.serve(t, s.good, func(*Connection, *CRLLookup) error { panic("lookup exploded") })
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "lookup exploded", pe.Value)
}

// TestCRLObject: loading, the issuer hash, the time checks, and use after
// Close.
func TestCRLObject(t *testing.T) {
	s := newCRLSetup(t)
	now := time.Now()
	for _, tc := range []struct {
		name             string
		this, next       time.Time
		active, notStale string // "" for success, else the error name
	}{
		{"current", now.Add(-time.Hour), now.Add(time.Hour), "", ""},
		{"expired", now.Add(-2 * time.Hour), now.Add(-time.Hour), "", "S2N_ERR_CRL_EXPIRED"},
		{"future", now.Add(time.Hour), now.Add(2 * time.Hour), "S2N_ERR_CRL_NOT_YET_VALID", ""},
	} {
		crl, err := NewCRL(crlPEM(t, s.ca, tc.this, tc.next))
		require.NoError(t, err, tc.name)
		for _, check := range []struct {
			err  error
			want string
		}{{crl.ValidateActive(), tc.active}, {crl.ValidateNotExpired(), tc.notStale}} {
			if check.want == "" {
				require.NoError(t, check.err, tc.name)
			} else {
				requireS2nError(t, check.err, check.want)
			}
		}
		h, err := crl.IssuerHash()
		require.NoError(t, err)
		require.NotZero(t, h)
		require.NoError(t, crl.Close())
		require.NoError(t, crl.Close(), "idempotent")
		_, err = crl.IssuerHash()
		requireS2nError(t, err, nameClosed, ErrUsage, net.ErrClosed)
		requireS2nError(t, (&CRLLookup{conn: &Connection{}}).Set(crl), nameInvalidArg, ErrUsage)
	}
	_, err := NewCRL(nil)
	requireUsage(t, err, nameInvalidArg)
	_, err = NewCRL(s.ca.certPEM) // a certificate, not a CRL
	require.Error(t, err)
	requireTyped(t, err)
	var lookup *CRLLookup
	requireUsage(t, lookup.Ignore(), nameInvalidArg)
	_, err = lookup.CertIssuerHash()
	requireUsage(t, err, nameInvalidArg)
}

// TestCRLLookupLowLevel: on a Connection, unanswered lookups make
// Negotiate report BlockedOnApplicationInput; an answer after Wipe is
// refused, and the CRLs handed over are freed with the connection.
func TestCRLLookupLowLevel(t *testing.T) {
	s := newCRLSetup(t)
	ec, _, _ := testKeys(t)
	lookups := make(chan *CRLLookup, 4)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: s.ca, clientAuth: ClientAuthRequired})
	require.NoError(t, server.SetCRLLookupCallback(func(_ *Connection, l *CRLLookup) error {
		lookups <- l
		return nil
	}))
	client := newTestConfig(t, configOpts{policy: "default_tls13", chain: s.good, trust: ec, clientAuth: ClientAuthRequired})
	p := newPair(t, server, client)
	var lookup *CRLLookup
	deadline := time.Now().Add(testHandshakeTimeout)
	for lookup == nil {
		require.True(t, time.Now().Before(deadline), "the CRL lookup never ran")
		for _, c := range []*Connection{p.server, p.client} {
			if _, err := c.Negotiate(); err != nil {
				require.ErrorIs(t, err, ErrBlocked)
			}
		}
		select {
		case lookup = <-lookups:
		default:
			time.Sleep(time.Millisecond)
		}
	}
	blocked, err := p.server.Negotiate()
	require.ErrorIs(t, err, ErrBlocked)
	require.Equal(t, BlockedOnApplicationInput, blocked)
	crl, err := NewCRL(s.crl)
	require.NoError(t, err)
	set := make(chan error, 1)
	go func() { set <- lookup.Set(crl) }()
	require.NoError(t, await(t, set, "Set"))
	require.NoError(t, crl.Close())
	held := func() bool {
		crl.s.mu.Lock()
		defer crl.s.mu.Unlock()
		return crl.s.ptr != nil
	}
	require.True(t, held(), "the connection keeps the CRL after its Close")
	p.handshake(t)
	require.NoError(t, p.server.Wipe())
	require.False(t, held(), "Wipe let the CRL go")
	requireUsage(t, lookup.Ignore(), nameStale)
	_, err = lookup.CertIssuerHash()
	requireUsage(t, err, nameStale)
}
