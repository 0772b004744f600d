package s2n

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWallClockExpiresTickets: a server whose wall Clock is advanced past
// a ticket's validity refuses it (a full handshake), while the ticket
// resumed before the Clock moved that far. A TLS 1.2 server checks the
// session state lifetime (a minute); a TLS 1.3 server leaves that check to
// the client and refuses once the ticket key has expired (a minute for
// encryption, a minute more for decryption only).
func TestWallClockExpiresTickets(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, v := range resumeVersions {
		t.Run(v.name, func(t *testing.T) {
			clock := NewClock()
			server := newTestConfig(t, configOpts{policy: v.policy, chain: ec})
			require.NoError(t, server.SetWallClock(clock))
			require.NoError(t, server.SetSessionTickets(true))
			require.NoError(t, server.SetSessionStateLifetime(time.Minute))
			require.NoError(t, server.SetTicketKeyLifetimes(time.Minute, time.Minute))
			addTicketKey(t, server)
			addr, resumed := echoServer(t, server, 3)
			client := clientConfig(t, v.policy, ec)
			require.NoError(t, client.SetClientSessionCache(NewLRUClientSessionCache(4)))

			for i, step := range []struct {
				advance time.Duration
				resumed bool
			}{
				{0, false},                 // the first ticket
				{30 * time.Second, true},   // within the minute
				{100 * time.Second, false}, // past the state's minute and the key's two
			} {
				require.NoError(t, clock.Advance(step.advance))
				c, err := Dial("tcp", addr, client)
				require.NoError(t, err)
				roundTrip(t, c)
				require.Equal(t, step.resumed, c.ConnectionState().DidResume, "connection %d, clock +%v", i, clock.Offset())
				require.NoError(t, c.Close())
				require.Equal(t, step.resumed, await(t, resumed, "server result"), "server's DidResume, connection %d", i)
			}
			require.Equal(t, 130*time.Second, clock.Offset())
		})
	}
}

// TestWallClockCertificateValidity: s2n checks the peer's certificate
// against the wall clock: a client whose Clock is past the certificate's
// NotAfter (a day away) refuses it as expired.
func TestWallClockCertificateValidity(t *testing.T) {
	ec, _, _ := testKeys(t)
	clock := NewClock()
	client := clientConfig(t, "default_tls13", ec)
	require.NoError(t, client.SetWallClock(clock))
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})

	p := newPair(t, server, client)
	_, c := p.drive(t, 10*time.Second)
	require.NoError(t, c.err, "the certificate is valid now")

	require.NoError(t, clock.Advance(25*time.Hour))
	p = newPair(t, server, client)
	_, c = p.drive(t, 10*time.Second)
	requireS2nError(t, c.err, "S2N_ERR_CERT_EXPIRED")

	// SetWallClock(nil) brings back the system's time, on a clone.
	fresh, err := client.Clone()
	require.NoError(t, err)
	t.Cleanup(func() { fresh.Close() })
	require.NoError(t, fresh.SetWallClock(nil))
	p = newPair(t, server, fresh)
	_, c = p.drive(t, 10*time.Second)
	require.NoError(t, c.err)
}

// TestMonotonicClockEndsBlinding: the blinding delay of a failed handshake
// is measured on the monotonic clock: advancing the Config's Clock past it
// leaves no delay to keep.
func TestMonotonicClockEndsBlinding(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	clock := NewClock()
	client := newTestConfig(t, configOpts{policy: "default_tls13", trust: ec2})
	require.NoError(t, client.SetMonotonicClock(clock))
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), client)
	_, c := p.drive(t, 10*time.Second)
	requireS2nError(t, c.err, "S2N_ERR_CERT_UNTRUSTED")
	delay := p.client.Delay()
	require.GreaterOrEqual(t, delay, 9*time.Second, "s2n's blinding: 10 to 30 s")
	require.NoError(t, clock.Advance(delay+time.Second))
	require.Zero(t, p.client.Delay(), "the delay has passed on the Config's clock")
}

// TestClockAdvance: a Clock only moves forward, within its bound; a
// Config keeps using it after a Clone.
func TestClockAdvance(t *testing.T) {
	clock := NewClock()
	require.Zero(t, clock.Offset())
	requireS2nError(t, clock.Advance(-time.Second), nameInvalidArg, ErrUsage)
	require.NoError(t, clock.Advance(time.Hour))
	require.NoError(t, clock.Advance(time.Minute))
	require.Equal(t, time.Hour+time.Minute, clock.Offset())
	require.WithinDuration(t, time.Now().Add(time.Hour+time.Minute), clock.Now(), time.Minute)
	requireS2nError(t, clock.Advance(maxClockOffset), nameInvalidArg, ErrUsage)
	require.Equal(t, time.Hour+time.Minute, clock.Offset(), "a refused Advance moves nothing")

	var zero Clock
	requireS2nError(t, zero.Advance(time.Second), nameInvalidArg, ErrUsage)
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireS2nError(t, cfg.SetWallClock(&zero), nameInvalidArg, ErrUsage)
	requireS2nError(t, cfg.SetMonotonicClock(&zero), nameInvalidArg, ErrUsage)
	require.NoError(t, cfg.SetWallClock(clock))
	clone, err := cfg.Clone()
	require.NoError(t, err)
	defer clone.Close()
	require.Same(t, clock, clone.s.wallClock)
}
