package s2n

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHandshakeEvents: each side reports one event per handshake with what
// it negotiated, and a failure with its error; timing checkpoints arrive in
// order, from NEGOTIATE_START to NEGOTIATE_END.
func TestHandshakeEvents(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	type seen struct {
		mode Mode
		ev   HandshakeEvent
	}
	var mu sync.Mutex
	var events []seen
	var checkpoints []TimingCheckpoint
	observe := func(cfg *Config) {
		require.NoError(t, cfg.SetHandshakeEventCallback(func(conn *Connection, ev HandshakeEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, seen{conn.s.mode, ev})
		}))
		require.NoError(t, cfg.SetTimingCheckpointCallback(func(conn *Connection, cp TimingCheckpoint) {
			mu.Lock()
			defer mu.Unlock()
			if conn.s.mode == ModeServer {
				checkpoints = append(checkpoints, cp)
			}
		}))
	}
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	client := clientConfig(t, "default_tls13", ec)
	observe(server)
	observe(client)
	p := newPair(t, server, client)
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	mu.Lock()
	require.Len(t, events, 2, "one event per side")
	for _, e := range events {
		conn := p.server
		if e.mode == ModeClient {
			conn = p.client
		}
		require.Nil(t, e.ev.Err)
		require.Equal(t, TLS13, e.ev.Version)
		require.Equal(t, conn.CipherSuite(), e.ev.Cipher)
		require.Equal(t, "default_tls13", e.ev.Policy)
		require.NotEmpty(t, e.ev.Group)
		require.Greater(t, e.ev.InNegotiate, time.Duration(0))
		require.GreaterOrEqual(t, e.ev.Duration, e.ev.InNegotiate)
	}
	require.NotEmpty(t, checkpoints)
	require.Equal(t, "NEGOTIATE_START", checkpoints[0].Name)
	require.Equal(t, "NEGOTIATE_END", checkpoints[len(checkpoints)-1].Name)
	for i := 1; i < len(checkpoints); i++ {
		require.GreaterOrEqual(t, checkpoints[i].At, checkpoints[i-1].At, "one clock: %v", checkpoints)
		require.Equal(t, ModeServer, checkpoints[i].Mode)
	}
	events = nil
	mu.Unlock()

	// A client that does not trust the server: its event carries the error.
	bad := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec2})
	observe(bad)
	p = newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), bad)
	_, c = p.drive(t, 10*time.Second)
	require.Error(t, c.err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 1)
	require.NotNil(t, events[0].ev.Err)
	require.Equal(t, "S2N_ERR_CERT_UNTRUSTED", events[0].ev.Err.Name)
}

// TestHandshakeEventPanic: a panicking event callback ends the connection
// with the panic as the cause, though s2n ignores the callback's result.
func TestHandshakeEventPanic(t *testing.T) {
	ec, _, _ := testKeys(t)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
	require.NoError(t, server.SetHandshakeEventCallback(func(*Connection, HandshakeEvent) { panic("observer exploded") }))
	p := newPair(t, server, clientConfig(t, "default_tls13", ec))
	s, _ := p.drive(t, 10*time.Second)
	requireS2nError(t, s.err, nameCallbackFailed)
	var pe *PanicError
	require.ErrorAs(t, s.err, &pe)
}
