package cli

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/s2n-go/s2n"
)

// DefaultCiphers is the s2n security policy used without -c: TLS 1.3 and
// 1.2 with s2n's current defaults.
const DefaultCiphers = "default_tls13"

// TLSFlags are the settings both commands share.
type TLSFlags struct {
	Ciphers   string
	ALPN      string
	CAFile    string
	Insecure  bool
	NoTickets bool
	// MaxBlinding caps s2n's delay after a failed handshake; 0 keeps
	// s2n's default (up to 30 s).
	MaxBlinding time.Duration
	// PreferThroughput and PreferLowLatency choose the record size, as
	// the flags of s2n-tls's utilities do; ReleaseIdle frees an idle
	// connection's buffers (Config.SetReleaseBuffersWhenIdle).
	PreferThroughput bool
	PreferLowLatency bool
	ReleaseIdle      bool
	// KeyLog is the file the NSS key log is appended to (-L, --key-log);
	// BufferedSend is the send buffer size (--buffered-send), 0 for s2n's.
	KeyLog       string
	BufferedSend uint
	// NPN turns on Next Protocol Negotiation with the ALPN list (--npn).
	NPN bool
	// PSKs are the external PSKs of --psk (-P), in the order given.
	PSKs PSKList
	// NonBlocking is s2n-tls's tools' --non-blocking, accepted for the
	// suite that passes it: the binding always drives s2n on non-blocking
	// I/O, so it changes nothing.
	NonBlocking bool
	// EnterFIPS is --enter-fips-mode: check that s2n runs in FIPS mode
	// (see RequireFIPS).
	EnterFIPS bool
	// KTLS is --ktls: the connection hands its keys to the kernel's TLS
	// after the handshake where the kernel offers it
	// (Config.EnableConnKTLS), and the connection info says what happened.
	KTLS bool
	// Verbose turns on the commands' own status lines on stderr, in
	// addition to s2n-tls's tools' lines on stdout (-v, --verbose).
	Verbose bool

	keyLogFile *os.File // opened by Apply, closed by Close
}

// smallFragment is s2n's low-latency record payload (a record in one TCP
// segment: S2N_SMALL_FRAGMENT_LENGTH), what s2n_connection_prefer_low_latency
// sets.
const smallFragment = 1435

// Register adds the shared flags; alpnShort and caShort are the one-letter
// names, which differ between s2nd and s2nc as in s2n-tls's utilities.
func (f *TLSFlags) Register(fs *flag.FlagSet, alpnShort []string, caShort string) {
	fs.StringVar(&f.Ciphers, "ciphers", DefaultCiphers, "s2n security policy")
	Alias(fs, "ciphers", "c")
	fs.StringVar(&f.ALPN, "alpn", "", "ALPN protocols, comma-separated, most preferred first")
	Alias(fs, "alpn", alpnShort...)
	fs.StringVar(&f.CAFile, "ca-file", "", "PEM file of certificates to trust (replaces the system store)")
	Alias(fs, "ca-file", caShort)
	fs.BoolVar(&f.Insecure, "insecure", false, "do not verify the peer's certificate")
	Alias(fs, "insecure", "i")
	fs.BoolVar(&f.NoTickets, "no-session-ticket", false, "disable session tickets")
	Alias(fs, "no-session-ticket", "T")
	fs.DurationVar(&f.MaxBlinding, "max-blinding", 0, "cap s2n's delay after a failed handshake (0: s2n's default, up to 30s)")
	fs.BoolVar(&f.PreferThroughput, "prefer-throughput", false, "send 16 KiB records")
	fs.BoolVar(&f.PreferLowLatency, "prefer-low-latency", false, "send records of one TCP segment")
	fs.BoolVar(&f.ReleaseIdle, "release-idle-buffers", false, "free an idle connection's I/O buffers while it waits")
	fs.StringVar(&f.KeyLog, "key-log", "", "append the NSS key log to PATH")
	Alias(fs, "key-log", "L")
	fs.UintVar(&f.BufferedSend, "buffered-send", 0, "send buffer size in bytes (0: s2n's)")
	fs.BoolVar(&f.NPN, "npn", false, "also negotiate the --alpn protocols by NPN, for peers that need it")
	fs.Var(&f.PSKs, "psk", "external PSK identity,hex-secret,SHA256|SHA384 (repeatable)")
	Alias(fs, "psk", "P")
	fs.BoolVar(&f.NonBlocking, "non-blocking", false, "accepted; the binding's I/O is always non-blocking")
	fs.BoolVar(&f.EnterFIPS, "enter-fips-mode", false, "fail unless s2n runs in FIPS mode")
	fs.BoolVar(&f.KTLS, "ktls", false, "after the handshake, hand the keys to the kernel's TLS (kTLS) where it offers it; the connection info says whether it did")
	fs.BoolVar(&f.Verbose, "verbose", false, "also print this command's own status lines on stderr")
	Alias(fs, "verbose", "v")
}

// RequireFIPS implements --enter-fips-mode. s2n-tls's tools switch the
// libcrypto into FIPS mode at start; here the mode is fixed by the build
// (a FIPS build, tag s2n_fips, runs the AWS-LC FIPS module and refuses to
// start outside FIPS mode), so the flag checks it: it prints "NAME entered
// FIPS mode" on stdout, as those tools do, or fails.
func (f *TLSFlags) RequireFIPS(name string, stdout io.Writer) error {
	if !f.EnterFIPS {
		return nil
	}
	on, err := s2n.FIPSMode()
	if err != nil {
		return fmt.Errorf("--enter-fips-mode: %w", err)
	}
	if !on {
		return fmt.Errorf("--enter-fips-mode: s2n-tls is not in FIPS mode (libcrypto %s): build with -tags s2n_fips against the AWS-LC FIPS module", s2n.Libcrypto())
	}
	fmt.Fprintf(stdout, "%s entered FIPS mode\n", name)
	return nil
}

// PSK is one --psk value.
type PSK struct {
	Identity, Secret []byte
	HMAC             s2n.PSKHMAC
}

// PSKList is the value of the repeatable --psk flag: each value is
// "identity,secret,hmac" as in s2n-tls's utilities, the secret in hex and
// hmac SHA256 or SHA384. As there, at most 10.
type PSKList []PSK

// maxPSKs is s2n-tls's utilities' S2N_MAX_PSK_LIST_LENGTH.
const maxPSKs = 10

func (l *PSKList) String() string {
	if l == nil {
		return ""
	}
	ids := make([]string, len(*l))
	for i, p := range *l {
		ids[i] = string(p.Identity)
	}
	return strings.Join(ids, " ")
}

func (l *PSKList) Set(v string) error {
	if len(*l) >= maxPSKs {
		return fmt.Errorf("at most %d PSKs", maxPSKs)
	}
	parts := strings.Split(v, ",")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return errors.New("want identity,hex-secret,SHA256|SHA384")
	}
	secret, err := hex.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("the secret is not hex: %w", err)
	}
	var h s2n.PSKHMAC
	switch strings.ToUpper(parts[2]) {
	case "SHA256":
		h = s2n.PSKHMACSHA256
	case "SHA384":
		h = s2n.PSKHMACSHA384
	default:
		return fmt.Errorf("unknown PSK hmac %q: SHA256 or SHA384", parts[2])
	}
	*l = append(*l, PSK{Identity: []byte(parts[0]), Secret: secret, HMAC: h})
	return nil
}

// NewConfig makes an s2n Config and has configure set it up; the Config is
// closed again if that fails.
func NewConfig(configure func(*s2n.Config) error) (*s2n.Config, error) {
	cfg, err := s2n.NewConfig()
	if err != nil {
		return nil, err
	}
	if err := configure(cfg); err != nil {
		cfg.Close()
		return nil, err
	}
	return cfg, nil
}

// Apply sets the policy, ALPN and trust on cfg.
func (f *TLSFlags) Apply(cfg *s2n.Config) error {
	if err := cfg.SetCipherPreferences(f.Ciphers); err != nil {
		return fmt.Errorf("--ciphers %q: %w", f.Ciphers, err)
	}
	if f.MaxBlinding > 0 {
		if err := cfg.SetMaxBlindingDelay(f.MaxBlinding); err != nil {
			return fmt.Errorf("--max-blinding %v: %w", f.MaxBlinding, err)
		}
	}
	if err := f.applyBuffers(cfg); err != nil {
		return err
	}
	if alpn := SplitList(f.ALPN); len(alpn) > 0 {
		if err := cfg.SetProtocolPreferences(alpn); err != nil {
			return fmt.Errorf("--alpn %q: %w", f.ALPN, err)
		}
	}
	if f.NPN {
		if err := cfg.SetNPN(true); err != nil {
			return fmt.Errorf("--npn: %w", err)
		}
	}
	if err := f.applyTrust(cfg); err != nil {
		return err
	}
	if f.KTLS {
		if err := cfg.EnableConnKTLS(true, true); err != nil {
			return fmt.Errorf("--ktls: %w", err)
		}
	}
	for _, p := range f.PSKs {
		if err := cfg.AddPSK(p.Identity, p.Secret, p.HMAC); err != nil {
			return fmt.Errorf("--psk %s: %w", p.Identity, err)
		}
	}
	return f.applyKeyLog(cfg)
}

// applyKeyLog opens --key-log for appending, as s2n-tls's utilities do, and
// logs to it; Close closes it.
func (f *TLSFlags) applyKeyLog(cfg *s2n.Config) error {
	if f.KeyLog == "" {
		return nil
	}
	file, err := os.OpenFile(f.KeyLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--key-log: %w", err)
	}
	if err := cfg.SetKeyLogWriter(file); err != nil {
		file.Close()
		return fmt.Errorf("--key-log: %w", err)
	}
	f.keyLogFile = file
	return nil
}

// Close closes the --key-log file, if Apply opened one. Call it once the
// Config is no longer used.
func (f *TLSFlags) Close() error {
	if f.keyLogFile == nil {
		return nil
	}
	err := f.keyLogFile.Close()
	f.keyLogFile = nil
	return err
}

// applyBuffers sets the record size and idle-buffer settings.
func (f *TLSFlags) applyBuffers(cfg *s2n.Config) error {
	switch {
	case f.PreferThroughput && f.PreferLowLatency:
		return errors.New("--prefer-throughput and --prefer-low-latency exclude each other")
	case f.PreferThroughput:
		if err := cfg.SetMaxFragmentLength(16384); err != nil {
			return fmt.Errorf("--prefer-throughput: %w", err)
		}
	case f.PreferLowLatency:
		if err := cfg.SetMaxFragmentLength(smallFragment); err != nil {
			return fmt.Errorf("--prefer-low-latency: %w", err)
		}
	}
	if f.BufferedSend > 0 {
		if f.BufferedSend > math.MaxUint32 {
			return fmt.Errorf("--buffered-send %d: must fit in 32 bits", f.BufferedSend)
		}
		if err := cfg.SetSendBufferSize(uint32(f.BufferedSend)); err != nil {
			// The words of s2n-tls's tools, which their test suite looks for.
			return fmt.Errorf("Error setting send buffer size (--buffered-send %d): %w", f.BufferedSend, err)
		}
	}
	return cfg.SetReleaseBuffersWhenIdle(f.ReleaseIdle)
}

func (f *TLSFlags) applyTrust(cfg *s2n.Config) error {
	if f.Insecure {
		return cfg.DisableX509Verification()
	}
	if f.CAFile == "" {
		return nil // s2n's default: the system trust store
	}
	pemBytes, err := ReadFile("--ca-file", f.CAFile)
	if err != nil {
		return err
	}
	if _, err := ParseLeaf(pemBytes); err != nil {
		return fmt.Errorf("--ca-file %s: %w", f.CAFile, err)
	}
	if err := cfg.WipeTrustStore(); err != nil {
		return err
	}
	if err := cfg.AddPEMToTrustStore(pemBytes); err != nil {
		return fmt.Errorf("--ca-file %s: %w", f.CAFile, err)
	}
	return nil
}

// Field is one named connection parameter.
type Field struct{ Name, Value string }

// State is what a connection negotiated: crypto/tls's view and s2n's.
type State struct {
	TLS  tls.ConnectionState
	Info s2n.HandshakeInfo
}

// StateOf reads a connection's State.
func StateOf(c *s2n.Conn) State { return State{c.ConnectionState(), c.HandshakeInfo()} }

// Fields lists a connection's negotiated parameters in a fixed order. side
// ("server" or "client") is whose key operations OffloadedOps counts.
func Fields(s State, side string) []Field {
	st, info := s.TLS, s.Info
	peer := "none"
	switch {
	case len(st.PeerCertificates) > 0:
		peer = CertSummary(st.PeerCertificates[0])
	case st.DidResume:
		peer = "none (not sent again on resumption)"
	}
	return []Field{
		{"protocol", info.Version.String()},
		{"cipher suite", info.CipherSuite},
		{"key exchange", orNone(info.KeyExchangeGroup)},
		{"ALPN", orNone(st.NegotiatedProtocol)},
		{"server name", orNone(st.ServerName)},
		{"peer certificate", peer},
		{"resumed", yesNo(st.DidResume)},
		{side + " key ops offloaded", fmt.Sprint(info.OffloadedOps)},
	}
}

// Block formats fields as aligned "  name  value" lines.
func Block(fields []Field) string {
	width := 0
	for _, f := range fields {
		width = max(width, len(f.Name))
	}
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, f.Name, f.Value)
	}
	return b.String()
}

// Summary formats a connection's parameters as one line of key=value pairs.
func Summary(s State) string {
	st, info := s.TLS, s.Info
	client := "-"
	if len(st.PeerCertificates) > 0 {
		client = quoteIfSpaced(st.PeerCertificates[0].Subject.String())
	}
	return fmt.Sprintf("protocol=%s cipher=%s group=%s alpn=%s sni=%s resumed=%s peer-cert=%s offloaded-ops=%d",
		info.Version, info.CipherSuite, dash(info.KeyExchangeGroup), dash(st.NegotiatedProtocol),
		dash(st.ServerName), yesNo(st.DidResume), client, info.OffloadedOps)
}

// CertSummary names a certificate by subject, key type and expiry.
func CertSummary(c *x509.Certificate) string {
	s := fmt.Sprintf("%s (%s", c.Subject, KeyType(c.PublicKey))
	if c.Subject.String() == c.Issuer.String() {
		s += ", self-signed"
	}
	return s + ", expires " + c.NotAfter.UTC().Format(time.DateTime) + " UTC)"
}

// KeyType names a public key's algorithm and size.
func KeyType(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func quoteIfSpaced(s string) string {
	if strings.ContainsAny(s, " \t") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
