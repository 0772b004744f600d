package s2n

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// earlyPair is a pair whose connections share one external PSK that allows
// 1 KiB of early data with TLS_AES_128_GCM_SHA256.
func earlyPair(t *testing.T, server *Config) *pair {
	t.Helper()
	k, err := NewExternalPSK([]byte("early"), testPSKSecret, PSKHMACSHA256)
	require.NoError(t, err)
	defer k.Close()
	require.NoError(t, k.ConfigureEarlyData(1024, 0x1301))
	require.NoError(t, k.SetEarlyDataContext([]byte("ctx-1")))
	if server == nil {
		server = pskConfig(t, testPSKSecret)
	}
	p := newPair(t, server, pskConfig(t, testPSKSecret))
	require.NoError(t, p.server.AppendPSK(k))
	require.NoError(t, p.client.AppendPSK(k))
	return p
}

type earlyResult struct {
	received     []byte
	sent         int
	server, clnt handshakeResult
	// appBlocked: the server waited for the application (an EarlyDataFunc's
	// late answer).
	appBlocked bool
}

// driveEarly runs the handshake in turns: the client sends data as early
// data, then negotiates; the server reads early data until s2n says there
// is no more, then negotiates.
func driveEarly(t *testing.T, p *pair, data []byte) (r earlyResult) {
	t.Helper()
	buf := make([]byte, 256)
	clientEarly, serverEarly := false, false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !r.clnt.done && r.clnt.err == nil {
			var err error
			if !clientEarly {
				var n int
				n, _, err = p.client.SendEarlyData(data[r.sent:])
				r.sent += n
				clientEarly = err == nil
			} else {
				_, err = p.client.Negotiate()
				r.clnt.done = err == nil
			}
			if err != nil && !errors.Is(err, ErrBlocked) {
				r.clnt.err = err
			}
		}
		if !r.server.done && r.server.err == nil {
			var err error
			if !serverEarly {
				var n int
				var b Blocked
				n, b, err = p.server.RecvEarlyData(buf)
				r.appBlocked = r.appBlocked || b == BlockedOnApplicationInput
				r.received = append(r.received, buf[:n]...)
				serverEarly = err == nil
			} else {
				_, err = p.server.Negotiate()
				r.server.done = err == nil
			}
			if err != nil && !errors.Is(err, ErrBlocked) {
				r.server.err = err
			}
		}
		if (r.server.done || r.server.err != nil) && (r.clnt.done || r.clnt.err != nil) {
			return r
		}
		if r.server.err != nil || r.clnt.err != nil {
			return r
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatalf("early data handshake did not finish: %+v", r)
	return r
}

func requireEarlyStatus(t *testing.T, want EarlyDataStatus, conns ...*Connection) {
	t.Helper()
	for _, c := range conns {
		st, err := c.EarlyDataStatus()
		require.NoError(t, err)
		require.Equal(t, want, st, "%v", st)
	}
}

func TestEarlyDataAccepted(t *testing.T) {
	p := earlyPair(t, nil)
	data := []byte("GET /idempotent in 0-RTT")
	r := driveEarly(t, p, data)
	require.NoError(t, r.server.err)
	require.NoError(t, r.clnt.err)
	require.Equal(t, len(data), r.sent)
	require.Equal(t, data, r.received)
	requireEarlyStatus(t, EarlyDataEnd, p.server, p.client)
	for _, c := range []*Connection{p.server, p.client} {
		m, err := c.MaxEarlyDataSize()
		require.NoError(t, err)
		require.EqualValues(t, 1024, m)
		rem, err := c.RemainingEarlyDataSize()
		require.NoError(t, err)
		require.Zero(t, rem, "early data has ended")
	}
	p.exchange(t)
}

func TestEarlyDataNotRequested(t *testing.T) {
	p := newPair(t, pskConfig(t, testPSKSecret, "x"), pskConfig(t, testPSKSecret, "x"))
	k, err := NewExternalPSK([]byte("plain"), testPSKSecret, PSKHMACSHA256)
	require.NoError(t, err)
	defer k.Close()
	require.NoError(t, p.server.AppendPSK(k))
	require.NoError(t, p.client.AppendPSK(k))
	p.handshake(t)
	requireEarlyStatus(t, EarlyDataNotRequested, p.server, p.client)
}

func TestEarlyDataCallback(t *testing.T) {
	withCallback := func(t *testing.T, fn EarlyDataFunc) *pair {
		cfg := pskConfig(t, testPSKSecret)
		require.NoError(t, cfg.SetEarlyDataCallback(fn))
		return earlyPair(t, cfg)
	}
	data := []byte("POST /not-idempotent")

	t.Run("reject", func(t *testing.T) {
		var ctx []byte
		p := withCallback(t, func(_ *Connection, d *OfferedEarlyData) error {
			var err error
			ctx, err = d.Context()
			if err != nil {
				return err
			}
			return d.Reject()
		})
		r := driveEarly(t, p, data)
		require.NoError(t, r.server.err)
		require.NoError(t, r.clnt.err)
		require.False(t, r.appBlocked)
		require.Equal(t, []byte("ctx-1"), ctx)
		require.Empty(t, r.received, "rejected early data is not delivered")
		requireEarlyStatus(t, EarlyDataRejected, p.server, p.client)
		// The client's data must go again, after the handshake.
		p.exchange(t)
	})

	t.Run("accept later from another goroutine", func(t *testing.T) {
		offered := make(chan *OfferedEarlyData, 1)
		p := withCallback(t, func(_ *Connection, d *OfferedEarlyData) error {
			offered <- d
			return nil
		})
		answered := make(chan error, 1)
		go func() {
			d := <-offered
			answered <- d.Accept()
		}()
		r := driveEarly(t, p, data)
		require.NoError(t, <-answered)
		require.True(t, r.appBlocked, "the handshake waited for the answer")
		require.NoError(t, r.server.err)
		require.NoError(t, r.clnt.err)
		require.Equal(t, data, r.received)
		requireEarlyStatus(t, EarlyDataEnd, p.server, p.client)
	})

	t.Run("error", func(t *testing.T) {
		mine := errors.New("replayed")
		p := withCallback(t, func(*Connection, *OfferedEarlyData) error { return mine })
		r := driveEarly(t, p, data)
		require.ErrorIs(t, r.server.err, mine)
	})

	t.Run("answer after close", func(t *testing.T) {
		var kept *OfferedEarlyData
		p := withCallback(t, func(_ *Connection, d *OfferedEarlyData) error {
			kept = d
			return d.Accept()
		})
		r := driveEarly(t, p, data)
		require.NoError(t, r.server.err)
		require.NoError(t, p.server.Close())
		requireS2nError(t, kept.Reject(), nameClosed)
	})
}
