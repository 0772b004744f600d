package s2n

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cloneCalls makes one successful call of each public setter of Config, for
// TestCloneReplaysEverySetter. A setter added to Config must be added here
// (and record itself through Config.set) or to notCloned with the reason.
func cloneCalls(t *testing.T) map[string]func(*Config) error {
	ec, _, _ := testKeys(t)
	chain := func() *CertChainAndKey {
		ck, err := NewCertChainAndKey(ec.certPEM, ec.keyPEM)
		require.NoError(t, err)
		t.Cleanup(func() { ck.Close() })
		return ck
	}
	return map[string]func(*Config) error{
		"SetCipherPreferences":         func(c *Config) error { return c.SetCipherPreferences("default_tls13") },
		"AppendProtocolPreference":     func(c *Config) error { return c.AppendProtocolPreference("h2") },
		"EnableCertReqDSSLegacyCompat": (*Config).EnableCertReqDSSLegacyCompat,
		"SetAsyncOffloadCallback": func(c *Config) error {
			return c.SetAsyncOffloadCallback(AsyncOffloadPkeyVerify, func(*Connection, *AsyncOffloadOp) error { return nil })
		},
		"EnableKTLSUnsafeTLS13":   (*Config).EnableKTLSUnsafeTLS13,
		"SetSerializationVersion": func(c *Config) error { return c.SetSerializationVersion(SerializationV1) },
		"SetRenegotiateRequestCallback": func(c *Config) error {
			return c.SetRenegotiateRequestCallback(func(*Connection) RenegotiateResponse { return RenegotiateReject })
		},
		"AddPSK":                    func(c *Config) error { return c.AddPSK([]byte("id"), []byte("secret"), PSKHMACSHA256) },
		"SetPSKMode":                func(c *Config) error { return c.SetPSKMode(PSKModeExternal) },
		"SetServerMaxEarlyDataSize": func(c *Config) error { return c.SetServerMaxEarlyDataSize(1024) },
		"SetEarlyDataCallback": func(c *Config) error {
			return c.SetEarlyDataCallback(func(*Connection, *OfferedEarlyData) error { return nil })
		},
		"SetPSKSelectionCallback": func(c *Config) error {
			return c.SetPSKSelectionCallback(func(*Connection, *OfferedPSKList) error { return nil })
		},
		"AddCertChainAndKey":      func(c *Config) error { return c.AddCertChainAndKey(chain()) },
		"AddPEMToTrustStore":      func(c *Config) error { return c.AddPEMToTrustStore(ec.certPEM) },
		"WipeTrustStore":          (*Config).WipeTrustStore,
		"DisableX509Verification": (*Config).DisableX509Verification,
		"SetClientAuthType":       func(c *Config) error { return c.SetClientAuthType(ClientAuthOptional) },
		"SetAsyncPkeyCallback": func(c *Config) error {
			return c.SetAsyncPkeyCallback(func(*Connection, *AsyncPkeyOp) error { return nil })
		},
		"SetAsyncPkeyValidationMode": func(c *Config) error { return c.SetAsyncPkeyValidationMode(ValidationStrict) },
		"SetProtocolPreferences":     func(c *Config) error { return c.SetProtocolPreferences([]string{"h2"}) },
		"SetVerifyHostCallback":      func(c *Config) error { return c.SetVerifyHostCallback(func(string) bool { return true }) },
		"SetMaxFragmentLength":       func(c *Config) error { return c.SetMaxFragmentLength(16384) },
		"SetReleaseBuffersWhenIdle":  func(c *Config) error { return c.SetReleaseBuffersWhenIdle(true) },
		"EnableConnKTLS":             func(c *Config) error { return c.EnableConnKTLS(true, true) },
		"SetMaxBlindingDelay":        func(c *Config) error { return c.SetMaxBlindingDelay(time.Second) },
		"SetWallClock":               func(c *Config) error { return c.SetWallClock(NewClock()) },
		"SetMonotonicClock":          func(c *Config) error { return c.SetMonotonicClock(NewClock()) },
		"SetCertRequestCallback": func(c *Config) error {
			return c.SetCertRequestCallback(func(*Connection, *CertificateRequest) error { return nil })
		},
		"SetCertAuthoritiesFromTrustStore": func(c *Config) error {
			if err := c.WipeTrustStore(); err != nil { // s2n refuses it over the system store
				return err
			}
			if err := c.AddPEMToTrustStore(ec.certPEM); err != nil {
				return err
			}
			return c.SetCertAuthoritiesFromTrustStore()
		},
		"SetCertTiebreakCallback": func(c *Config) error {
			return c.SetCertTiebreakCallback(func(a, _ *CertChainAndKey, _ string) *CertChainAndKey { return a })
		},
		"SetDefaultCertChains": func(c *Config) error { return c.SetDefaultCertChains(chain()) },
		"SetClientHelloCallback": func(c *Config) error {
			return c.SetClientHelloCallback(func(*Connection, *ClientHello) error { return nil }, ClientHelloBlocking)
		},
		"SetConfigForClient": func(c *Config) error {
			return c.SetConfigForClient(func(*ClientHello) (*Config, error) { return nil, nil })
		},
		"SetGetCertificate": func(c *Config) error {
			return c.SetGetCertificate(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil })
		},
		"SetSessionTickets": func(c *Config) error { return c.SetSessionTickets(true) },
		"AddTicketKey": func(c *Config) error {
			return c.AddTicketKey([]byte("key1"), []byte("0123456789abcdef0123456789abcdef"), time.Time{})
		},
		"AddCertChainWithSigner": func(c *Config) error { return c.AddCertChainWithSigner(ec.certPEM, ec.signer) },
		"SetMaxInflightKeyOps":   func(c *Config) error { return c.SetMaxInflightKeyOps(4) },
		"AddPublicCertChainWithSigner": func(c *Config) error {
			pub, err := NewPublicCertChain(ec.certPEM)
			if err != nil {
				return err
			}
			defer pub.Close()
			return c.AddPublicCertChainWithSigner(pub, ec.signer)
		},
		"SetCRLLookupCallback": func(c *Config) error {
			return c.SetCRLLookupCallback(func(*Connection, *CRLLookup) error { return nil })
		},
		"SetCertValidationCallback": func(c *Config) error {
			return c.SetCertValidationCallback(func(*Connection, *CertValidationInfo) error { return nil })
		},
		"SetVerifyConnection": func(c *Config) error {
			return c.SetVerifyConnection(func(tls.ConnectionState) error { return nil })
		},
		"SetVerifyPeerCertificate": func(c *Config) error {
			return c.SetVerifyPeerCertificate(func([][]byte, [][]*x509.Certificate) error { return nil })
		},
		"SetMaxCertChainDepth":          func(c *Config) error { return c.SetMaxCertChainDepth(4) },
		"SetVerificationCALocation":     func(c *Config) error { return c.SetVerificationCALocation("", "testdata") },
		"DisableX509TimeVerification":   (*Config).DisableX509TimeVerification,
		"DisableX509IntentVerification": (*Config).DisableX509IntentVerification,
		"AllowIPInCN":                   (*Config).AllowIPInCN,
		"AddCustomX509Extension":        func(c *Config) error { return c.AddCustomX509Extension(testCriticalOID) },
		"LoadSystemCerts": func(c *Config) error {
			if err := c.WipeTrustStore(); err != nil { // a new Config has them already
				return err
			}
			return c.LoadSystemCerts()
		},
		"SetCTSupportLevel":           func(c *Config) error { return c.SetCTSupportLevel(CTSupportRequest) },
		"SetCheckStapledOCSPResponse": func(c *Config) error { return c.SetCheckStapledOCSPResponse(false) },
		"SetStatusRequestType":        func(c *Config) error { return c.SetStatusRequestType(StatusRequestOCSP) },
		"SetClientSessionCache": func(c *Config) error {
			return c.SetClientSessionCache(NewLRUClientSessionCache(4))
		},
		"SetSessionCache": func(c *Config) error { return c.SetSessionCache(NewMemorySessionCache(4)) },
		"SetSessionTicketCallback": func(c *Config) error {
			return c.SetSessionTicketCallback(func(*Connection, *SessionTicket) error { return nil })
		},
		"SetInitialTicketCount":       func(c *Config) error { return c.SetInitialTicketCount(2) },
		"SetSessionStateLifetime":     func(c *Config) error { return c.SetSessionStateLifetime(time.Hour) },
		"SetTicketKeyLifetimes":       func(c *Config) error { return c.SetTicketKeyLifetimes(2*time.Hour, 13*time.Hour) },
		"RequireTicketForwardSecrecy": func(c *Config) error { return c.RequireTicketForwardSecrecy(true) },
		"SetKeyLogWriter":             func(c *Config) error { return c.SetKeyLogWriter(io.Discard) },
		"SetRecvMultiRecord":          func(c *Config) error { return c.SetRecvMultiRecord(true) },
		"SetSendBufferSize":           func(c *Config) error { return c.SetSendBufferSize(4096) },
		"SetAlertBehavior":            func(c *Config) error { return c.SetAlertBehavior(AlertIgnoreWarnings) },
		"SendMaxFragmentLength":       func(c *Config) error { return c.SendMaxFragmentLength(MaxFragmentLength1024) },
		"AcceptMaxFragmentLength":     (*Config).AcceptMaxFragmentLength,
		"SetVerifyAfterSign":          func(c *Config) error { return c.SetVerifyAfterSign(true) },
		"SetNPN":                      func(c *Config) error { return c.SetNPN(true) },
		"SetHandshakeEventCallback": func(c *Config) error {
			return c.SetHandshakeEventCallback(func(*Connection, HandshakeEvent) {})
		},
		"SetTimingCheckpointCallback": func(c *Config) error {
			return c.SetTimingCheckpointCallback(func(*Connection, TimingCheckpoint) {})
		},
		"AddDHParams": func(c *Config) error {
			pem, err := exec.Command("openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048").Output()
			if err != nil {
				return err
			}
			return c.AddDHParams(pem)
		},
	}
}

// notCloned lists the Config setters Clone deliberately does not replay,
// with the reason.
var notCloned = map[string]string{}

// isSetter reports whether a method name is one of the setters Clone must
// account for.
func isSetter(name string) bool {
	for _, p := range []string{"Set", "Add", "Append", "Disable", "Wipe", "Enable", "Load", "Require", "Send", "Accept", "Allow"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// TestCloneReplaysEverySetter: every exported setter of *Config is either
// recorded and replayed by Clone or listed in notCloned with a reason, so a
// setter added later has to choose.
func TestCloneReplaysEverySetter(t *testing.T) {
	calls := cloneCalls(t)
	typ := reflect.TypeFor[*Config]()
	seen := 0
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if !isSetter(name) {
			continue
		}
		seen++
		if reason, ok := notCloned[name]; ok {
			require.NotEmpty(t, reason, "%s is not cloned: say why", name)
			continue
		}
		call, ok := calls[name]
		require.True(t, ok, "Config.%s is neither replayed by Clone (record it with Config.set and add it to cloneCalls) nor listed in notCloned", name)
		t.Run(name, func(t *testing.T) {
			cfg, err := NewConfig()
			require.NoError(t, err)
			defer cfg.Close()
			if name == "AddCustomX509Extension" && !customExtensionsSupported(t) {
				requireS2nError(t, call(cfg), "S2N_ERR_API_UNSUPPORTED_BY_LIBCRYPTO")
				require.Empty(t, settingNames(cfg), "a failed call is not recorded")
				return
			}
			require.NoError(t, call(cfg))
			names := settingNames(cfg)
			require.NotEmpty(t, names)
			require.Equal(t, name, names[len(names)-1], "the call is recorded under its own name")
			clone, err := cfg.Clone()
			require.NoError(t, err)
			defer clone.Close()
			require.NotSame(t, cfg.s, clone.s)
			require.Equal(t, names, settingNames(clone), "the clone made the same calls")
		})
	}
	require.Equal(t, seen, len(calls)+len(notCloned), "cloneCalls or notCloned names a method Config no longer has")
}

func settingNames(c *Config) []string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var names []string
	for _, rec := range c.s.settings {
		names = append(names, rec.name)
	}
	return names
}

// TestConfigClone: a clone of a Config in use serves the same chain, policy
// and ALPN, may be changed without touching the original, and outlives it.
func TestConfigClone(t *testing.T) {
	ec, _, _ := testKeys(t)
	signer := &faultySigner{key: ec.signer}
	base := signerConfig(t, "default_tls13", ec, signer, "h2", "http/1.1")
	pair := newPair(t, base, clientConfig(t, "default_tls13", ec))
	pair.handshake(t) // base is in use from here on
	requireUsage(t, base.SetProtocolPreferences([]string{"http/1.1"}), nameInUse)

	clone, err := base.Clone()
	require.NoError(t, err)
	require.NoError(t, clone.SetProtocolPreferences([]string{"http/1.1"}), "a clone is not in use")
	require.NoError(t, base.Close())
	_, err = base.Clone()
	requireS2nError(t, err, nameClosed)

	addr, served := serveResults(t, clone, 1, func(c *Conn) error { return c.Handshake() })
	goCfg := goTLSClientConfig(ec)
	goCfg.NextProtos = []string{"h2", "http/1.1"}
	c, err := tls.Dial("tcp", addr, goCfg)
	require.NoError(t, err)
	st := c.ConnectionState()
	c.Close()
	require.NoError(t, await(t, served, "server handshake"))
	require.Equal(t, "http/1.1", st.NegotiatedProtocol, "the clone's own ALPN list")
	require.Equal(t, uint16(tls.VersionTLS13), st.Version)
	require.Equal(t, ec.cert.Raw, st.PeerCertificates[0].Raw)
	require.EqualValues(t, 2, signer.calls.Load(), "both Configs sign with the same crypto.Signer")
	require.NoError(t, clone.Close())
}

// TestAppendProtocolPreference: ALPN protocols appended to a Config extend
// its list in order, and those appended to a Connection replace its
// Config's list, as crypto/tls and an s2n peer see in the handshake.
func TestAppendProtocolPreference(t *testing.T) {
	ec, _, _ := testKeys(t)

	// A server's list is its preference: SetProtocolPreferences then an
	// appended protocol, against a crypto/tls client preferring the latter.
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, server.SetProtocolPreferences([]string{"h2"}))
	require.NoError(t, server.AppendProtocolPreference("http/1.1"))
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{[]string{"http/1.1", "h2"}, "h2"},
		{[]string{"http/1.1", "x-other"}, "http/1.1"},
	} {
		goCfg := goTLSClientConfig(ec)
		goCfg.NextProtos = tc.offered
		r := goPeerHandshake(t, ModeServer, server, goCfg)
		require.NoError(t, r.err)
		require.NoError(t, r.goErr)
		require.Equal(t, tc.want, r.goState.NegotiatedProtocol, "offered %v", tc.offered)
		require.Equal(t, tc.want, r.conn.ApplicationProtocol())
	}

	// A client Config built by appending alone, against crypto/tls.
	client := clientConfig(t, "default_tls13", ec)
	for _, proto := range []string{"x-first", "x-second"} {
		require.NoError(t, client.AppendProtocolPreference(proto))
	}
	goCfg := goPeerConfig(t, ec)
	goCfg.NextProtos = []string{"x-second"}
	r := goPeerHandshake(t, ModeClient, client, goCfg)
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	require.Equal(t, "x-second", r.goState.NegotiatedProtocol)
	require.Equal(t, "x-second", r.conn.ApplicationProtocol())

	// Between two s2n connections: the client connection's appended list
	// replaces its Config's (which would choose h2).
	srv := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, srv.SetProtocolPreferences([]string{"h2", "http/1.1"}))
	cli := clientConfig(t, "default_tls13", ec, "h2")
	p := newPair(t, srv, cli)
	require.NoError(t, p.client.AppendProtocolPreference("x-unknown"))
	require.NoError(t, p.client.AppendProtocolPreference("http/1.1"))
	p.handshake(t)
	require.Equal(t, "http/1.1", p.server.ApplicationProtocol())
	require.Equal(t, "http/1.1", p.client.ApplicationProtocol())

	// Bad names are refused before s2n sees them.
	fresh := newTestConfig(t, configOpts{})
	for _, bad := range []string{"", strings.Repeat("a", 256), "h2\x00"} {
		requireS2nError(t, fresh.AppendProtocolPreference(bad), nameInvalidArg, ErrUsage)
		requireS2nError(t, p.client.AppendProtocolPreference(bad), nameInvalidArg, ErrUsage)
	}
	require.Empty(t, settingNames(fresh), "a refused call is not recorded")
	require.NoError(t, fresh.AppendProtocolPreference(strings.Repeat("a", 255)))
	require.NoError(t, p.client.Close())
	requireS2nError(t, p.client.AppendProtocolPreference("h2"), nameClosed, ErrUsage)
	require.NoError(t, fresh.Close())
	requireS2nError(t, fresh.AppendProtocolPreference("h2"), nameClosed, ErrUsage)
}
