package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"io"
	"sync"
	"unsafe"
)

// Secrets for debugging: the NSS key log, which lets Wireshark and similar
// tools decrypt a capture, and the TLS 1.2 master secret.

// keyLogMu serializes key log writes of every Config, as crypto/tls does,
// so that one writer shared by several Configs gets whole lines.
var keyLogMu sync.Mutex

func writeKeyLog(w io.Writer, line []byte) error {
	keyLogMu.Lock()
	defer keyLogMu.Unlock()
	n, err := w.Write(line)
	if err == nil && n < len(line) {
		err = io.ErrShortWrite
	}
	return err
}

// SetKeyLogWriter makes every handshake of connections using this Config
// write its secrets to w in the NSS key log format, one line each ending in
// a newline, like crypto/tls's Config.KeyLogWriter (s2n_config_set_key_log_cb):
// CLIENT_RANDOM in TLS 1.2; in TLS 1.3 the handshake and first application
// traffic secrets and, unlike crypto/tls, EXPORTER_SECRET. Anyone who reads
// w can decrypt the connections: use it for debugging only. A nil w turns
// logging off.
//
// Lines are written during Negotiate (the handshake of a Conn), as a
// callback of the connection: writes from all Configs are serialized, so w
// need not be safe for concurrent use. s2n ignores the result of its key
// log callback; the binding does not: if w fails (or panics), the call that
// drove the handshake returns that error and the connection is left
// unusable but for Close, as crypto/tls fails a handshake whose key log
// write failed.
func (c *Config) SetKeyLogWriter(w io.Writer) error {
	rec := setting{name: "SetKeyLogWriter", replay: func(d *Config) error { return d.SetKeyLogWriter(w) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_key_log_callback(p, cBool(w != nil), C.uintptr_t(c.s.h), e) < 0 {
			return -1
		}
		c.s.keyLog = w
		return 0
	})
}

// masterSecretLen is the size of a TLS 1.2 master secret (RFC 5246).
const masterSecretLen = 48

// MasterSecret returns the TLS 1.2 (or earlier) master secret of the
// completed handshake (s2n_connection_get_master_secret): the secret the
// key log's CLIENT_RANDOM line carries. Anyone holding it can decrypt the
// connection and any session resumed from it. s2n refuses for TLS 1.3
// (S2N_ERR_INVALID_STATE), whose key schedule has no such secret: see
// [Conn.ExportKeyingMaterial] for key material tied to a session.
func (c *Connection) MasterSecret() ([]byte, error) {
	out := make([]byte, masterSecretLen)
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_master_secret(p, (*C.uint8_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)), e)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
