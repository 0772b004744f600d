package cli

import (
	"crypto"
	"encoding/pem"
	"flag"
	"fmt"
	"os"

	"github.com/ThalesGroup/crypto11"
)

// PKCS11Flags name a key pair in a PKCS#11 token. Settings left empty are
// taken from the environment scripts/softhsm-setup prints:
// S2N_PKCS11_MODULE, S2N_PKCS11_TOKEN_LABEL and S2N_PKCS11_PIN (the
// environment also keeps the PIN out of the process list).
type PKCS11Flags struct {
	Module, Token, PIN, KeyLabel string
}

func (p *PKCS11Flags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.Module, "pkcs11-module", "", "PKCS#11 module (.so); default $S2N_PKCS11_MODULE")
	fs.StringVar(&p.Token, "pkcs11-token", "", "PKCS#11 token label; default $S2N_PKCS11_TOKEN_LABEL")
	fs.StringVar(&p.PIN, "pkcs11-pin", "", "PKCS#11 user PIN; default $S2N_PKCS11_PIN")
	fs.StringVar(&p.KeyLabel, "pkcs11-key-label", "", "label of the key pair (and certificate) in the token")
}

// any reports whether a PKCS#11 flag other than the key label was given.
func (p *PKCS11Flags) any() bool { return p.Module != "" || p.Token != "" || p.PIN != "" }

// validate fills empty settings from the environment and checks that the
// module and token are known.
func (p *PKCS11Flags) validate() error {
	fill := func(v *string, env string) {
		if *v == "" {
			*v = os.Getenv(env)
		}
	}
	fill(&p.Module, "S2N_PKCS11_MODULE")
	fill(&p.Token, "S2N_PKCS11_TOKEN_LABEL")
	fill(&p.PIN, "S2N_PKCS11_PIN")
	switch {
	case p.Module == "":
		return Usagef("--pkcs11-key-label needs --pkcs11-module (or $S2N_PKCS11_MODULE)")
	case p.Token == "":
		return Usagef("--pkcs11-key-label needs --pkcs11-token (or $S2N_PKCS11_TOKEN_LABEL)")
	}
	return nil
}

// loadPKCS11 finds the key pair in the token, and its certificate in
// certFile or, without one, in the token under the same label. The key is
// always offloaded: its operations run in the token.
func (k *KeyFlags) loadPKCS11(certFlag string) (key *Key, err error) {
	p := k.PKCS11
	if _, err := os.Stat(p.Module); err != nil {
		return nil, fmt.Errorf("--pkcs11-module: %w", err)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: p.Module, TokenLabel: p.Token, Pin: p.PIN})
	if err != nil {
		return nil, fmt.Errorf("PKCS#11 token %q in %s: %w", p.Token, p.Module, err)
	}
	defer func() {
		if err != nil {
			ctx.Close()
		}
	}()
	// FindKeyPairs, unlike FindKeyPair, tells "none" apart from a failure.
	signers, err := ctx.FindKeyPairs(nil, []byte(p.KeyLabel))
	if err != nil {
		return nil, fmt.Errorf("--pkcs11-key-label %q: %w", p.KeyLabel, err)
	}
	if len(signers) != 1 {
		return nil, fmt.Errorf("--pkcs11-key-label: %d key pairs labelled %q in token %q, want one", len(signers), p.KeyLabel, p.Token)
	}
	signer := signers[0]
	key = &Key{
		Source:  fmt.Sprintf("PKCS#11 key %q in token %q", p.KeyLabel, p.Token),
		signer:  NewOffload(signer, k.Latency),
		release: ctx.Close,
	}
	if key.ChainPEM, err = tokenChain(ctx, k.CertFile, certFlag, p.KeyLabel); err != nil {
		return nil, err
	}
	if key.Leaf, err = ParseLeaf(key.ChainPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", certFlag, err)
	}
	if !samePublicKey(key.Leaf.PublicKey, signer.Public()) {
		return nil, fmt.Errorf("the certificate's public key is not the one of PKCS#11 key %q", p.KeyLabel)
	}
	return key, nil
}

// tokenChain reads the chain from certFile, or the certificate labelled
// label from the token.
func tokenChain(ctx *crypto11.Context, certFile, certFlag, label string) ([]byte, error) {
	if certFile != "" {
		return ReadFile(certFlag, certFile)
	}
	cert, err := ctx.FindCertificate(nil, []byte(label), nil)
	if err != nil {
		return nil, fmt.Errorf("looking up certificate %q in the token: %w", label, err)
	}
	if cert == nil {
		return nil, fmt.Errorf("no certificate labelled %q in the token: give one with %s", label, certFlag)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
