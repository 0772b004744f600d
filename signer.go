package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// AddCertChainWithSigner adds a certificate chain whose private key is a
// crypto.Signer: an HSM through PKCS#11, a KMS client, a remote signer, or
// simply a key in memory. The chain is loaded public-only; every signature
// of a handshake that selects it, and, when key is also a crypto.Decrypter,
// every TLS 1.2 RSA key-exchange decryption, is handed to key on a goroutine
// through s2n's async private-key API, so no thread waits for the key.
//
//   - Signatures use the connection's selected signature and digest
//     algorithms: RSA PKCS#1 v1.5, RSA-PSS (salt length = hash length), or
//     ECDSA (ASN.1 DER, as crypto.Signer returns it).
//   - Decryption has rsa.PKCS1v15DecryptOptions{SessionKeyLen: 48}
//     semantics: on bad padding, a failure, or output of the wrong length, a
//     random 48-byte premaster secret is used, so the peer learns nothing
//     from the key's answer (the handshake then fails at Finished).
//   - A key error or panic fails that connection's handshake with the key's
//     error; see [Conn.HandshakeContext] for deadlines on a key that never
//     answers.
//
// Unless SetAsyncPkeyValidationMode was called, the Config switches to
// ValidationStrict, so a faulty key's signature is caught before it is sent.
// Several chains with different signers may be added; s2n chooses among them
// by SNI and by the key types the peer supports. A callback set with
// SetAsyncPkeyCallback still handles chains added with a private key.
// To staple an OCSP response or SCTs with the chain, load it with
// [NewPublicCertChain], set them, and use [Config.AddPublicCertChainWithSigner].
func (c *Config) AddCertChainWithSigner(chainPEM []byte, key crypto.Signer) error {
	if key == nil {
		return usageError(nameInvalidArg, "nil crypto.Signer")
	}
	chain, err := NewPublicCertChain(chainPEM)
	if err != nil {
		return err
	}
	defer chain.Close()
	saved := bytes.Clone(chainPEM)
	return c.addChainWithSigner(chain, key, setting{name: "AddCertChainWithSigner", kind: settingCert,
		replay: func(d *Config) error { return d.AddCertChainWithSigner(saved, key) }})
}

// AddPublicCertChainWithSigner is [Config.AddCertChainWithSigner] for a
// chain already loaded, typically with [NewPublicCertChain], so that
// settings of the chain itself ([CertChainAndKey.SetOCSPData],
// [CertChainAndKey.SetSCTList]) can be made first
// (s2n_config_add_cert_chain_and_key_to_store). Every operation of the
// chain's key goes to key, also for a chain loaded with a private key of
// its own. The Config keeps the chain alive as AddCertChainAndKey does;
// the caller may Close its reference afterwards.
func (c *Config) AddPublicCertChainWithSigner(chain *CertChainAndKey, key crypto.Signer) error {
	if key == nil {
		return usageError(nameInvalidArg, "nil crypto.Signer")
	}
	if chain == nil || chain.s == nil || chain.closed.Load() {
		return usageError(nameInvalidArg, "certificate chain is nil or closed")
	}
	cert := chain.s
	return c.addChainWithSigner(chain, key, setting{name: "AddPublicCertChainWithSigner", kind: settingCert,
		replay: func(d *Config) error {
			// A view of the chain, which this Config holds: the caller may
			// have closed its own.
			return d.AddPublicCertChainWithSigner(&CertChainAndKey{s: cert, borrowed: true}, key)
		}})
}

// addChainWithSigner adds chain with key as its signer, recorded as rec.
func (c *Config) addChainWithSigner(chain *CertChainAndKey, key crypto.Signer, rec setting) error {
	cert := chain.s
	if !cert.acquire() {
		return closedError("certificate chain")
	}
	// One locked step: the chain is never in the Config without its signer.
	// The settings go first, since they can be undone; the chain last, since
	// s2n cannot take it out again.
	err := c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		st := c.s
		strict := !st.validationSet
		if strict && C.go_s2n_config_set_async_pkey_validation_mode(p, C.S2N_ASYNC_PKEY_VALIDATION_STRICT, e) < 0 {
			return -1
		}
		undo := func() {
			var ignored C.go_s2n_error
			C.go_s2n_config_set_async_pkey_callback(p, cBool(st.asyncFn != nil || len(st.signers) > 0), &ignored)
			if strict {
				C.go_s2n_config_set_async_pkey_validation_mode(p, C.S2N_ASYNC_PKEY_VALIDATION_FAST, &ignored)
			}
		}
		if C.go_s2n_config_set_async_pkey_callback(p, 1, e) < 0 {
			undo()
			return -1
		}
		cert.mu.RLock()
		rc := C.go_s2n_config_add_cert_chain_and_key_to_store(p, cert.ptr, e)
		cert.mu.RUnlock()
		if rc < 0 {
			undo()
			return -1
		}
		st.certs = append(st.certs, cert)
		if st.signers == nil {
			st.signers = make(map[*certState]*signerEntry)
		}
		st.signers[cert] = &signerEntry{key: key}
		return 0
	})
	if err != nil {
		cert.release()
	}
	return err
}

// signerEntry is a chain's crypto.Signer, and what was learnt of it.
type signerEntry struct {
	key crypto.Signer
	// probe finds out once whether the key's Decrypt honours
	// rsa.PKCS1v15DecryptOptions.SessionKeyLen (see decryptPremaster).
	probe         sync.Once
	sessionKeyLen bool
}

// SetMaxInflightKeyOps bounds how many operations of this Config's signers
// run at once; further operations queue (their handshakes wait, parked, not
// holding threads). Zero, the default, means no bound. Use it to protect an
// HSM or a rate-limited KMS.
func (c *Config) SetMaxInflightKeyOps(n int) error {
	if n < 0 {
		return usageError(nameInvalidArg, "negative bound %d", n)
	}
	rec := setting{name: "SetMaxInflightKeyOps", replay: func(d *Config) error { return d.SetMaxInflightKeyOps(n) }}
	return c.set(rec, func(*C.struct_s2n_config, *C.go_s2n_error) C.int {
		c.s.sem = nil
		if n > 0 {
			c.s.sem = make(chan struct{}, n)
		}
		return 0
	})
}

// callback returns the function the async trampoline runs for connections
// using this config.
func (st *configState) callback() AsyncPkeyFunc {
	if len(st.signers) == 0 {
		return st.asyncFn
	}
	return st.dispatchToSigner
}

// dispatchToSigner runs inside Negotiate: it reads what the key needs and
// hands the operation to a goroutine.
func (st *configState) dispatchToSigner(conn *Connection, op *AsyncPkeyOp) error {
	cert, err := conn.SelectedCert()
	if err != nil {
		return err
	}
	entry := st.signers[cert.s]
	if entry == nil {
		if st.asyncFn != nil {
			return st.asyncFn(conn, op)
		}
		defer op.Free()
		return performAndApply(conn, op)
	}
	typ, in, opts, err := keyRequest(conn, op)
	if err != nil {
		return err
	}
	conn.s.offloaded.Add(1)
	go st.runKeyOp(conn, op, entry, typ, in, opts)
	return nil
}

// keyRequest is what a crypto.Signer needs for op: its type, its input, and
// for a signature the options of the connection's selected algorithms.
func keyRequest(conn *Connection, op *AsyncPkeyOp) (typ AsyncPkeyOpType, in []byte, opts crypto.SignerOpts, err error) {
	if typ, err = op.Type(); err != nil {
		return 0, nil, nil, err
	}
	if in, err = op.Input(); err != nil {
		return 0, nil, nil, err
	}
	if typ == AsyncSign {
		if opts, err = signerOpts(conn); err != nil {
			return 0, nil, nil, err
		}
	}
	return typ, in, opts, nil
}

// PerformWithSigner does the operation with key on the calling goroutine,
// the way AddCertChainWithSigner does on its own: a signature with conn's
// selected signature and digest algorithms, or a TLS 1.2 RSA premaster
// decryption with SessionKeyLen semantics (key must then also be a
// crypto.Decrypter; without the configuration-wide memory of
// AddCertChainWithSigner, each decryption first asks the key once more,
// with a ciphertext of its own, whether it honours SessionKeyLen). The
// result becomes the op's output; Apply it next. For
// a callback that completes ops synchronously with a crypto.Signer, or one
// that hands them to its own worker pool.
func (o *AsyncPkeyOp) PerformWithSigner(conn *Connection, key crypto.Signer) error {
	if key == nil || conn == nil {
		return usageError(nameInvalidArg, "nil crypto.Signer or Connection")
	}
	typ, in, opts, err := keyRequest(conn, o)
	if err != nil {
		return err
	}
	out, err := callKey(&signerEntry{key: key}, typ, in, opts)
	if err != nil {
		return err
	}
	return o.SetOutput(out)
}

// testHookKeyOp, when set by a test, runs in runKeyOp before the liveness
// check that precedes the key's call; what it returns runs when runKeyOp
// returns.
var testHookKeyOp atomic.Pointer[func() (returned func())]

// runKeyOp asks the key, then applies its answer under the connection's
// lock, or records why it could not. The key is not asked for an op whose
// handshake is already gone (freed: the connection was closed or wiped, or
// the handshake abandoned); an answer that arrives after that is dropped and
// counted in RuntimeStats.LateOps.
func (st *configState) runKeyOp(conn *Connection, op *AsyncPkeyOp, entry *signerEntry, typ AsyncPkeyOpType, in []byte, opts crypto.SignerOpts) {
	defer op.Free()
	if st.sem != nil {
		select {
		case st.sem <- struct{}{}:
			defer func() { <-st.sem }()
		case <-conn.s.dead(): // died while queued: spare the key
			return
		}
	}
	if hook := testHookKeyOp.Load(); hook != nil { // atomic: key ops of earlier tests may still run
		defer (*hook)()()
	}
	if !op.live() {
		return
	}
	out, err := callKey(entry, typ, in, opts)
	if !op.live() {
		lateOps.Add(1)
		return
	}
	if err == nil {
		err = op.SetOutput(out)
	}
	if err == nil {
		err = op.Apply(conn)
	}
	if err != nil {
		conn.s.fail(op.s.gen, err)
	}
}

// callKey runs the key's operation; a panic becomes an error.
func callKey(entry *signerEntry, typ AsyncPkeyOpType, in []byte, opts crypto.SignerOpts) (out []byte, err error) {
	key := entry.key
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &PanicError{Value: r}
		}
	}()
	switch typ {
	case AsyncSign:
		out, err = key.Sign(rand.Reader, in, opts)
		if err != nil {
			return nil, fmt.Errorf("signer: %w", err)
		}
		return out, nil
	case AsyncDecrypt:
		return decryptPremaster(entry, in)
	}
	return nil, fmt.Errorf("unknown async pkey operation %v", typ)
}

// premasterLen is the size of a TLS 1.2 RSA premaster secret.
const premasterLen = 48

var errNotDecrypter = errors.New("TLS 1.2 RSA key exchange needs a key that is also a crypto.Decrypter")

// decryptPremaster decrypts an RSA-encrypted premaster secret without
// revealing, through errors, whether the padding was valid (RFC 5246
// 7.4.7.1). Keys that implement rsa.PKCS1v15DecryptOptions.SessionKeyLen
// (Go's own, and wrappers that pass options through) do it in constant
// time; for keys that refuse the option (PKCS#11 tokens through crypto11,
// for one) any failure or wrong-length result yields random bytes instead.
// Which kind a key is, is found out once per key on a ciphertext of our own
// (probeSessionKeyLen), never from the peer's: every ciphertext then costs
// the key exactly one Decrypt, valid or not.
func decryptPremaster(entry *signerEntry, ciphertext []byte) ([]byte, error) {
	d, ok := entry.key.(crypto.Decrypter)
	if !ok {
		return nil, errNotDecrypter
	}
	random := make([]byte, premasterLen)
	if _, err := rand.Read(random); err != nil {
		return nil, err
	}
	entry.probe.Do(func() { entry.sessionKeyLen = probeSessionKeyLen(d) })
	var opts crypto.DecrypterOpts
	if entry.sessionKeyLen {
		opts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: premasterLen}
	}
	out, err := safeDecrypt(d, ciphertext, opts)
	if err != nil || len(out) != premasterLen {
		return random, nil
	}
	return out, nil
}

// probeSessionKeyLen reports whether d decrypts, with SessionKeyLen options,
// a premaster-sized secret encrypted here to its own public key.
func probeSessionKeyLen(d crypto.Decrypter) bool {
	pub, ok := d.Public().(*rsa.PublicKey)
	if !ok {
		return false
	}
	secret := make([]byte, premasterLen)
	if _, err := rand.Read(secret); err != nil {
		return false
	}
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
	if err != nil {
		return false
	}
	out, err := safeDecrypt(d, ct, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: premasterLen})
	return err == nil && bytes.Equal(out, secret)
}

// safeDecrypt turns a panic of the key into an error: for a decryption it
// must be as invisible to the peer as bad padding.
func safeDecrypt(d crypto.Decrypter, ciphertext []byte, opts crypto.DecrypterOpts) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &PanicError{Value: r}
		}
	}()
	return d.Decrypt(rand.Reader, ciphertext, opts)
}

// signerOpts maps the connection's selected algorithms (server or client
// side, by mode) to crypto.SignerOpts.
func signerOpts(conn *Connection) (crypto.SignerOpts, error) {
	client := conn.s.mode == ModeClient
	sig, hash, err := conn.selectedAlgs(client)
	if err != nil {
		return nil, err
	}
	h := hash.CryptoHash()
	if h == 0 {
		return nil, fmt.Errorf("no hash selected for %v signature", sig)
	}
	if sig == SignatureRSAPSSRSAE || sig == SignatureRSAPSSPSS {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}, nil
	}
	return h, nil
}

// performAndApply completes op synchronously with the key s2n holds for the
// selected chain.
func performAndApply(conn *Connection, op *AsyncPkeyOp) error {
	cert, err := conn.SelectedCert()
	if err != nil {
		return err
	}
	key, err := cert.PrivateKey()
	if err != nil {
		return err
	}
	if err := op.Perform(key); err != nil {
		return err
	}
	return op.Apply(conn)
}
