package cli

import (
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/s2n-go/s2n"
)

// KeyFlags select a certificate chain and where its private key is: a PEM
// file (held by s2n, or offloaded with --async), or a PKCS#11 token (always
// offloaded: the key never leaves the token).
type KeyFlags struct {
	CertFile, KeyFile string
	// MoreCerts and MoreKeys are the second and later --cert and --key
	// files, in order, when Multiple allows repeating the flags (a
	// server's several chains).
	MoreCerts, MoreKeys []string
	Multiple            bool
	PKCS11              PKCS11Flags
	Async               bool
	Latency             time.Duration
	MaxInflight         int
}

// Register adds the key flags to fs; certNames and keyNames are the names of
// the certificate and key file flags (the first one is canonical).
func (k *KeyFlags) Register(fs *flag.FlagSet, certNames, keyNames []string) {
	fs.Func(certNames[0], "PEM certificate chain, leaf first", repeated(&k.CertFile, &k.MoreCerts))
	Alias(fs, certNames[0], certNames[1:]...)
	fs.Func(keyNames[0], "PEM private key", repeated(&k.KeyFile, &k.MoreKeys))
	Alias(fs, keyNames[0], keyNames[1:]...)
	fs.BoolVar(&k.Async, "async", false, "offload private-key operations to goroutines")
	fs.DurationVar(&k.Latency, "key-latency", 0, "simulated remote-key delay per operation (implies --async)")
	fs.IntVar(&k.MaxInflight, "max-inflight", 0, "bound on concurrent key operations (0: none)")
	k.PKCS11.register(fs)
}

// repeated sets first on a flag's first use and appends to more on the
// next ones.
func repeated(first *string, more *[]string) func(string) error {
	return func(v string) error {
		if v == "" {
			return errors.New("empty file name")
		}
		if *first == "" {
			*first = v
		} else {
			*more = append(*more, v)
		}
		return nil
	}
}

// Configured reports whether any key source was given.
func (k *KeyFlags) Configured() bool {
	return k.CertFile != "" || k.KeyFile != "" || k.PKCS11.KeyLabel != ""
}

// Offloaded reports whether key operations will be offloaded.
func (k *KeyFlags) Offloaded() bool {
	return k.Async || k.Latency > 0 || k.PKCS11.KeyLabel != ""
}

// Validate checks the flags' combination, before anything is read.
func (k *KeyFlags) Validate(certFlag, keyFlag string) error {
	switch {
	case k.Latency < 0:
		return Usagef("--key-latency must not be negative")
	case k.MaxInflight < 0:
		return Usagef("--max-inflight must not be negative")
	case !k.Multiple && (len(k.MoreCerts) > 0 || len(k.MoreKeys) > 0):
		return Usagef("%s and %s may be given once", certFlag, keyFlag)
	case len(k.MoreCerts) != len(k.MoreKeys):
		return Usagef("mismatched %s (%d) and %s (%d) count: give them in pairs", certFlag, len(k.MoreCerts)+1, keyFlag, len(k.MoreKeys)+1)
	case len(k.MoreCerts) > 0 && k.PKCS11.KeyLabel != "":
		return Usagef("several %s/%s pairs and --pkcs11-key-label are exclusive", certFlag, keyFlag)
	case k.PKCS11.KeyLabel != "" && k.KeyFile != "":
		return Usagef("%s and --pkcs11-key-label are exclusive: the key is in a file or in the token", keyFlag)
	case k.PKCS11.KeyLabel != "":
		return k.PKCS11.validate()
	case k.PKCS11.any():
		return Usagef("PKCS#11 settings need --pkcs11-key-label")
	case k.CertFile != "" && k.KeyFile == "":
		return Usagef("%s needs %s (or --pkcs11-key-label)", certFlag, keyFlag)
	case k.KeyFile != "" && k.CertFile == "":
		return Usagef("%s needs %s", keyFlag, certFlag)
	}
	return nil
}

// Key is a loaded certificate chain and its private key.
type Key struct {
	ChainPEM []byte
	Leaf     *x509.Certificate
	// Source says where the key is, for humans: `file key.pem`,
	// `PKCS#11 key "k" in token "t"`, `throwaway ECDSA P-256 key made at start`.
	Source string

	// OCSPResponse, if set, is the DER OCSP response AddTo staples with
	// the chain.
	OCSPResponse []byte

	keyPEM  []byte   // when s2n holds the key
	signer  *Offload // when the key is offloaded
	release func() error
}

// Load loads the key the flags name; certFlag and keyFlag name the file
// flags in errors.
func (k *KeyFlags) Load(certFlag, keyFlag string) (*Key, error) {
	if k.PKCS11.KeyLabel != "" {
		return k.loadPKCS11(certFlag)
	}
	chainPEM, leaf, err := readChain(certFlag, k.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := ReadFile(keyFlag, k.KeyFile)
	if err != nil {
		return nil, err
	}
	key := &Key{ChainPEM: chainPEM, Leaf: leaf, Source: "file " + k.KeyFile}
	if !k.Offloaded() {
		// s2n parses the key (and checks it against the certificate) when
		// AddTo loads it: it reads keys Go does not, such as RSA-PSS ones.
		key.keyPEM = keyPEM
		return key, nil
	}
	pair, err := tls.X509KeyPair(chainPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s %s, %s %s: %w", certFlag, k.CertFile, keyFlag, k.KeyFile, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s %s: %T is not a crypto.Signer", keyFlag, k.KeyFile, pair.PrivateKey)
	}
	key.signer = NewOffload(signer, k.Latency)
	return key, nil
}

// LoadMore loads the second and later --cert/--key pairs, each as Load
// would (offloaded under the same flags, with a signer of its own).
func (k *KeyFlags) LoadMore(certFlag, keyFlag string) ([]*Key, error) {
	var keys []*Key
	for i := range k.MoreCerts {
		one := *k
		one.CertFile, one.KeyFile, one.MoreCerts, one.MoreKeys = k.MoreCerts[i], k.MoreKeys[i], nil, nil
		key, err := one.Load(certFlag, keyFlag)
		if err != nil {
			for _, loaded := range keys {
				loaded.Close()
			}
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// readChain reads a PEM chain and parses its leaf.
func readChain(flagName, path string) ([]byte, *x509.Certificate, error) {
	chainPEM, err := ReadFile(flagName, path)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := ParseLeaf(chainPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return chainPEM, leaf, nil
}

// ParseLeaf parses the first certificate of a PEM chain.
func ParseLeaf(chainPEM []byte) (*x509.Certificate, error) {
	rest := chainPEM
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block found")
		}
		rest = next
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// Offloaded reports whether the key's operations are offloaded.
func (k *Key) Offloaded() bool { return k.signer != nil }

// Signer returns the offloading signer, or nil when s2n holds the key.
func (k *Key) Signer() *Offload { return k.signer }

// AddTo adds the chain and key to cfg: through AddPublicCertChainWithSigner
// when the key is offloaded, with s2n holding the key otherwise. The chain
// staples OCSPResponse when it is set.
func (k *Key) AddTo(cfg *s2n.Config, maxInflight int) error {
	var chain *s2n.CertChainAndKey
	var err error
	if k.signer == nil {
		if chain, err = s2n.NewCertChainAndKey(k.ChainPEM, k.keyPEM); err != nil {
			return fmt.Errorf("loading certificate and key: %w", err)
		}
	} else if chain, err = s2n.NewPublicCertChain(k.ChainPEM); err != nil {
		return fmt.Errorf("loading certificate for the offloaded key: %w", err)
	}
	defer chain.Close()
	if k.OCSPResponse != nil {
		if err := chain.SetOCSPData(k.OCSPResponse); err != nil {
			return fmt.Errorf("OCSP response: %w", err)
		}
	}
	if k.signer == nil {
		return cfg.AddCertChainAndKey(chain)
	}
	if err := cfg.AddPublicCertChainWithSigner(chain, k.signer.Key()); err != nil {
		return fmt.Errorf("loading certificate for the offloaded key: %w", err)
	}
	if maxInflight > 0 {
		return cfg.SetMaxInflightKeyOps(maxInflight)
	}
	return nil
}

// WriteCert writes the chain, PEM, to path ("-" for w).
func (k *Key) WriteCert(path string, w io.Writer) error {
	if path == "-" {
		_, err := w.Write(k.ChainPEM)
		return err
	}
	if err := os.WriteFile(path, k.ChainPEM, 0o644); err != nil {
		return fmt.Errorf("--write-cert: %w", err)
	}
	return nil
}

// Describe says where the key is and how it is used, in a few words.
func (k *Key) Describe() string {
	if k.signer == nil {
		return k.Source + ", held by s2n"
	}
	s := k.Source + ", offloaded asynchronously"
	if d := k.signer.latency; d > 0 {
		s += fmt.Sprintf(" (+%v simulated latency)", d)
	}
	return s
}

// Close releases the key's resources (a PKCS#11 session).
func (k *Key) Close() error {
	if k == nil || k.release == nil {
		return nil
	}
	release := k.release
	k.release = nil
	return release()
}

// Offload is the crypto.Signer handed to s2n for an offloaded key: it adds a
// simulated remote-key delay and counts operations and their time. When the
// key is also a crypto.Decrypter (RSA), so is Key().
type Offload struct {
	key     crypto.Signer
	latency time.Duration
	ops     atomic.Int64
	nanos   atomic.Int64
}

// NewOffload wraps key.
func NewOffload(key crypto.Signer, latency time.Duration) *Offload {
	return &Offload{key: key, latency: latency}
}

// Key returns the signer to hand to s2n: a crypto.Decrypter too exactly when
// the wrapped key is one, so that s2n's TLS 1.2 RSA key exchange is offered
// only when it can work.
func (o *Offload) Key() crypto.Signer {
	if _, ok := o.key.(crypto.Decrypter); ok {
		return offloadDecrypter{o}
	}
	return offloadSigner{o}
}

// Stats returns the number of operations done and their average time,
// simulated latency included.
func (o *Offload) Stats() (ops int64, avg time.Duration) {
	ops = o.ops.Load()
	if ops == 0 {
		return 0, 0
	}
	return ops, time.Duration(o.nanos.Load() / ops)
}

// StatsString is Stats for humans.
func (o *Offload) StatsString() string {
	ops, avg := o.Stats()
	if ops == 0 {
		return "0 key operations offloaded"
	}
	return fmt.Sprintf("%d key operation%s offloaded, %v average", ops, Plural(ops), avg.Round(10*time.Microsecond))
}

// Plural is "s" unless n is 1.
func Plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// run times one operation, after the simulated delay.
func (o *Offload) run(op func() ([]byte, error)) ([]byte, error) {
	start := time.Now()
	time.Sleep(o.latency) // the network to the remote key; runs on s2n's key goroutine
	out, err := op()
	o.nanos.Add(int64(time.Since(start)))
	o.ops.Add(1)
	return out, err
}

type offloadSigner struct{ o *Offload }

func (s offloadSigner) Public() crypto.PublicKey { return s.o.key.Public() }

func (s offloadSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.o.run(func() ([]byte, error) { return s.o.key.Sign(r, digest, opts) })
}

type offloadDecrypter struct{ o *Offload }

func (d offloadDecrypter) Public() crypto.PublicKey { return d.o.key.Public() }

func (d offloadDecrypter) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return d.o.run(func() ([]byte, error) { return d.o.key.Sign(r, digest, opts) })
}

// Decrypt decrypts a TLS 1.2 premaster secret. The binding calls it with nil
// opts (PKCS#1 v1.5); for an in-memory RSA key this asks Go for its
// constant-time premaster mode, which the wrapper would otherwise hide from
// the binding's own *rsa.PrivateKey fast path.
func (d offloadDecrypter) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return d.o.run(func() ([]byte, error) {
		if _, ok := d.o.key.(*rsa.PrivateKey); ok && opts == nil {
			opts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}
		}
		return d.o.key.(crypto.Decrypter).Decrypt(r, msg, opts)
	})
}
