package s2n

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Ticket keys shared by a fleet: the schedule's arithmetic, and servers
// that resume each other's sessions because they derive the same keys.

func randomSecret(t testing.TB) []byte {
	t.Helper()
	s := make([]byte, 32)
	_, err := rand.Read(s)
	require.NoError(t, err)
	return s
}

// TestTicketKeyScheduleKeys: the same secret gives the same keys, named
// and introduced on the schedule, two of them encrypting at any instant;
// another secret gives other names and keys; bad settings fail clearly.
func TestTicketKeyScheduleKeys(t *testing.T) {
	secret := randomSecret(t)
	s := &TicketKeySchedule{Secret: secret, Rotation: 10 * time.Minute, DecryptOnly: time.Hour}
	ed, do, err := s.Lifetimes()
	require.NoError(t, err)
	require.Equal(t, 20*time.Minute, ed)
	require.Equal(t, time.Hour, do)

	now := time.Unix(1_800_000_123, 0)
	keys, err := s.Keys(now, now)
	require.NoError(t, err)
	// In use at now: introduced in (now-80min, now], one every 10 minutes.
	require.Len(t, keys, 8)
	names := map[string]bool{}
	encrypting := 0
	for i, k := range keys {
		require.Len(t, k.Name, 16)
		require.Len(t, k.Key, 32)
		require.Equal(t, keys[0].Name[:8], k.Name[:8], "one secret, one name prefix")
		require.Equal(t, time.Unix(int64(k.Index)*600, 0), k.Introduced)
		if i > 0 {
			require.Equal(t, keys[i-1].Index+1, k.Index)
		}
		require.False(t, k.Introduced.After(now))
		require.True(t, now.Before(k.Introduced.Add(ed+do)), "key %d still in use", k.Index)
		names[string(k.Name)] = true
		if now.Before(k.Introduced.Add(ed)) {
			encrypting++
		}
	}
	require.Len(t, names, len(keys), "names are unique")
	require.Equal(t, 2, encrypting, "two keys encrypt at any instant")

	// Another server with the same secret, asked later, agrees on the keys
	// both hold.
	again, err := (&TicketKeySchedule{Secret: bytes.Clone(secret), Rotation: 10 * time.Minute, DecryptOnly: time.Hour}).
		Keys(now.Add(25*time.Minute), now.Add(25*time.Minute))
	require.NoError(t, err)
	// 25 minutes on, two keys (3000001 and 3000002, every 10 minutes) are
	// new and two (2999993 and 2999994) expired.
	require.Equal(t, uint64(2999993), keys[0].Index)
	require.Len(t, again, len(keys))
	require.Equal(t, keys[2:], again[:len(keys)-2])
	require.Equal(t, uint64(3000002), again[len(again)-1].Index)

	// A range covers the keys in use at any instant of it.
	ahead, err := s.Keys(now, now.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, ahead, len(keys)+6)
	require.Equal(t, keys, ahead[:len(keys)])

	other, err := (&TicketKeySchedule{Secret: randomSecret(t), Rotation: 10 * time.Minute, DecryptOnly: time.Hour}).Keys(now, now)
	require.NoError(t, err)
	require.Len(t, other, len(keys))
	for i := range keys {
		require.NotEqual(t, keys[i].Name, other[i].Name)
		require.NotEqual(t, keys[i].Key, other[i].Key)
		require.Equal(t, keys[i].Introduced, other[i].Introduced)
	}

	// The zero settings are s2n's defaults.
	ed, do, err = (&TicketKeySchedule{Secret: secret}).Lifetimes()
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, ed)
	require.Equal(t, 13*time.Hour, do)

	for name, bad := range map[string]*TicketKeySchedule{
		"short secret":       {Secret: secret[:31]},
		"fractional":         {Secret: secret, Rotation: 1500 * time.Millisecond},
		"negative":           {Secret: secret, DecryptOnly: -time.Hour},
		"sub-second":         {Secret: secret, Rotation: time.Millisecond},
		"more than 48 keys":  {Secret: secret, Rotation: time.Minute},
		"too long to expire": {Secret: secret, Rotation: 100 * 365 * 24 * time.Hour},
	} {
		_, err := bad.Keys(now, now.Add(time.Hour))
		requireS2nError(t, err, nameInvalidArg, ErrUsage)
		t.Logf("%s: %v", name, err)
	}
	_, err = s.Keys(now, now.Add(-time.Second))
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
	require.Error(t, s.Apply(newTestConfig(t, configOpts{}), now, -time.Second))
}

// TestTicketKeyScheduleAcrossServers: servers that apply one schedule
// resume each other's sessions: TLS 1.3 and TLS 1.2 tickets, and TLS 1.2
// session IDs through a session cache they share (its entries are
// encrypted with the shared keys). A server with another secret cannot.
func TestTicketKeyScheduleAcrossServers(t *testing.T) {
	ec, _, _ := testKeys(t)
	fleet := &TicketKeySchedule{Secret: randomSecret(t)}
	stranger := &TicketKeySchedule{Secret: randomSecret(t)}
	now := time.Now()
	shared := NewMemorySessionCache(16)

	for _, tc := range []struct {
		name, policy string
		sessionIDs   bool
	}{
		{"tls13-tickets", "default_tls13", false},
		{"tls12-tickets", policyTLS12, false},
		// Tickets and a session cache on, ticket forward secrecy required:
		// TLS 1.2 resumes by session ID only.
		{"tls12-session-ids", "default_tls13", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type server struct {
				addr    string
				resumed <-chan bool
			}
			serve := func(s *TicketKeySchedule) server {
				cfg := newTestConfig(t, configOpts{policy: tc.policy, chain: ec})
				require.NoError(t, cfg.SetSessionTickets(true))
				if tc.sessionIDs {
					require.NoError(t, cfg.SetSessionCache(shared))
					require.NoError(t, cfg.RequireTicketForwardSecrecy(true))
				}
				require.NoError(t, s.Apply(cfg, now, 2*time.Hour))
				addr, resumed := echoServer(t, cfg, 1)
				return server{addr, resumed}
			}
			a, b, c := serve(fleet), serve(fleet), serve(stranger)

			clientPolicy := tc.policy
			if tc.sessionIDs {
				clientPolicy = policyTLS12
			}
			client := clientConfig(t, clientPolicy, ec)
			var tickets ticketLog
			require.NoError(t, client.SetSessionTicketCallback(tickets.fn))
			require.NoError(t, client.SetClientSessionCache(NewLRUClientSessionCache(1)))
			for i, step := range []struct {
				server
				resume bool
			}{{a, false}, {b, true}, {c, false}} {
				conn, err := Dial("tcp", step.addr, client)
				require.NoError(t, err)
				roundTrip(t, conn)
				require.Equal(t, step.resume, conn.ConnectionState().DidResume, "connection %d", i)
				require.NoError(t, conn.Close())
				require.Equal(t, step.resume, await(t, step.resumed, "server result"), "server's DidResume, connection %d", i)
			}
			if tc.sessionIDs {
				require.Empty(t, tickets.all(), "no tickets: TLS 1.2 resumed by session ID")
				require.Positive(t, shared.Len(), "the shared cache holds the session")
			} else {
				require.NotEmpty(t, tickets.all())
			}
		})
	}
}
