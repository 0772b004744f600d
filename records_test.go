package s2n

import (
	"crypto/tls"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordingConn records the TLS record lengths written through it
// (application data) and read through it (every record). A Conn over it
// uses the in-memory transport.
type recordingConn struct {
	net.Conn
	mu          sync.Mutex
	pending     []byte
	lengths     []int
	readPending []byte
	readLengths []int
}

func (r *recordingConn) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readPending = append(r.readPending, b[:n]...)
	for len(r.readPending) >= 5 {
		l := int(r.readPending[3])<<8 | int(r.readPending[4])
		if len(r.readPending) < 5+l {
			break
		}
		r.readLengths = append(r.readLengths, l)
		r.readPending = r.readPending[5+l:]
	}
	return n, err
}

// maxRead is the longest record read so far.
func (r *recordingConn) maxRead() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Max(append([]int{0}, r.readLengths...))
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
	return slices.Max(recordLengths(t, configure, perConn))
}

// recordLengths sends 64 KiB from an s2n client to a crypto/tls server and
// returns the lengths of the application-data records on the wire, in order.
func recordLengths(t *testing.T, configure func(*Config), perConn func(*Connection) error) []int {
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
	return slices.Clone(rec.lengths)
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

// TestDynamicRecordThreshold: with a 16 KiB maximum, records fit one
// Ethernet frame until the threshold's bytes are sent, then grow to 16 KiB;
// without the threshold the first record is already 16 KiB.
func TestDynamicRecordThreshold(t *testing.T) {
	const threshold = 20000
	lengths := recordLengths(t, nil, func(c *Connection) error {
		if err := c.PreferThroughput(); err != nil {
			return err
		}
		return c.SetDynamicRecordThreshold(threshold, 10*time.Second)
	})
	// The first record is the client's Finished (TLS 1.3 sends it as
	// application_data too).
	lengths = lengths[1:]
	sent, i := 0, 0
	for ; sent < threshold; i++ {
		require.Less(t, lengths[i], 1500, "record %d, %d bytes sent before it: %v", i, sent, lengths)
		sent += lengths[i] - 17
	}
	require.Equal(t, 16384+17, slices.Max(lengths[i:]), "records after the threshold: %v", lengths)
	require.Equal(t, 16384+17, recordLengths(t, nil, (*Connection).PreferThroughput)[1], "no threshold")

	c, err := NewConnection(ModeClient)
	require.NoError(t, err)
	defer c.Close()
	requireS2nError(t, c.SetDynamicRecordThreshold(8<<20+1, 0), "S2N_ERR_INVALID_DYNAMIC_THRESHOLD", ErrUsage)
	requireS2nError(t, c.SetDynamicRecordThreshold(1, 1500*time.Millisecond), nameInvalidArg, ErrUsage)
	requireS2nError(t, c.SetDynamicRecordThreshold(1, 1<<16*time.Second), nameInvalidArg, ErrUsage)
}

// TestSendBufferSize: a 2 KiB send buffer makes records that fit it; s2n
// refuses one smaller than a minimal record.
func TestSendBufferSize(t *testing.T) {
	largest := largestRecord(t, func(cfg *Config) { require.NoError(t, cfg.SetSendBufferSize(2048)) }, nil)
	require.LessOrEqual(t, largest, 2048)
	require.Greater(t, largest, 1024)
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireS2nError(t, cfg.SetSendBufferSize(1000), "S2N_ERR_INVALID_ARGUMENT", ErrUsage)
}

// sendRecords has the server of p send each message as a record of its own.
func sendRecords(t *testing.T, p *pair, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		n, _, err := p.server.Send([]byte(m))
		require.NoError(t, err)
		require.Equal(t, len(m), n)
	}
}

// TestRecvMultiRecord: three records wait on the socket; Recv returns one
// record's data, or with SetRecvMultiRecord all three.
func TestRecvMultiRecord(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, multi := range []bool{false, true} {
		client := clientConfig(t, "default_tls13", ec)
		require.NoError(t, client.SetRecvMultiRecord(multi))
		p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), client)
		p.handshake(t)
		sendRecords(t, p, "first ", "second ", "third")
		buf := make([]byte, 1024)
		n, _, err := p.client.Recv(buf)
		require.NoError(t, err)
		want := "first "
		if multi {
			want = "first second third"
		}
		require.Equal(t, want, string(buf[:n]), "multi-record %v", multi)
	}
}

// TestRecvBufferingAndPeek: three 100-byte records wait on the socket. A
// Recv of 10 bytes leaves 90 for Peek; with SetRecvBuffering the other two
// records are read into s2n (PeekBuffered, nothing left on the socket),
// without it they stay on the socket.
func TestRecvBufferingAndPeek(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, buffering := range []bool{false, true} {
		p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), clientConfig(t, "default_tls13", ec))
		p.handshake(t)
		require.NoError(t, p.client.SetRecvBuffering(buffering))
		before := p.server.WireBytesOut()
		msg := strings.Repeat("x", 100)
		sendRecords(t, p, msg, msg, msg)
		record := int(p.server.WireBytesOut()-before) / 3
		require.Equal(t, 5+100+1+16, record, "a TLS 1.3 AES-GCM record of 100 bytes")

		require.Zero(t, p.client.Peek())
		buf := make([]byte, 10)
		n, _, err := p.client.Recv(buf)
		require.NoError(t, err)
		require.Equal(t, 10, n)
		require.Equal(t, 90, p.client.Peek(), "rest of the current record")
		if buffering {
			require.Equal(t, 2*record, p.client.PeekBuffered(), "two records read ahead")
			require.Zero(t, pendingBytes(t, p.fds[1]), "nothing left on the socket")
		} else {
			require.Zero(t, p.client.PeekBuffered())
			require.Equal(t, 2*record, pendingBytes(t, p.fds[1]), "two records left on the socket")
		}
	}
}
