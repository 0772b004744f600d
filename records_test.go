package s2n

import (
	"crypto/tls"
	"io"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// recordingConn records the TLS record lengths written through it.
type recordingConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
	lengths []int
}

func (r *recordingConn) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.pending = append(r.pending, b...)
	for len(r.pending) >= 5 {
		n := int(r.pending[3])<<8 | int(r.pending[4])
		if len(r.pending) < 5+n {
			break
		}
		if r.pending[0] == 23 { // application data
			r.lengths = append(r.lengths, n)
		}
		r.pending = r.pending[5+n:]
	}
	r.mu.Unlock()
	return r.Conn.Write(b)
}

// largestRecord sends 64 KiB from an s2n client to a crypto/tls server and
// returns the largest application-data record on the wire.
func largestRecord(t *testing.T, configure func(*Config), perConn func(*Connection) error) int {
	t.Helper()
	ec, _, _ := testKeys(t)
	addr, done := serveGoTLS(t, &tls.Config{Certificates: []tls.Certificate{goCert(ec)}}, 1, func(c *tls.Conn) error {
		_, err := io.CopyN(io.Discard, c, 64<<10)
		return err
	})
	cfg := clientConfig(t, "default_tls13", ec)
	if configure != nil {
		configure(cfg)
	}
	raw, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	rec := &recordingConn{Conn: raw}
	c := Client(rec, cfg, "localhost")
	defer c.Close()
	if perConn != nil {
		require.NoError(t, perConn(c.Connection()))
	}
	_, err = c.Write(make([]byte, 64<<10))
	require.NoError(t, err)
	require.NoError(t, <-done)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Max(rec.lengths)
}

// TestRecordSizes: s2n's default records (about 8 KiB), 16 KiB ones with
// SetMaxFragmentLength or PreferThroughput, one-segment ones with
// PreferLowLatency. A TLS 1.3 record adds 17 bytes (type and tag).
func TestRecordSizes(t *testing.T) {
	def := largestRecord(t, nil, nil)
	require.Less(t, def, 8192+17, "default")
	require.Greater(t, def, 4096, "default")

	big := largestRecord(t, func(cfg *Config) { require.NoError(t, cfg.SetMaxFragmentLength(16384)) }, nil)
	require.Equal(t, 16384+17, big, "SetMaxFragmentLength(16384)")
	require.Equal(t, 16384+17, largestRecord(t, nil, (*Connection).PreferThroughput), "PreferThroughput")
	require.Less(t, largestRecord(t, nil, (*Connection).PreferLowLatency), 1500, "PreferLowLatency")

	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	require.Error(t, cfg.SetMaxFragmentLength(0))
	require.Error(t, cfg.SetMaxFragmentLength(16385))
}
