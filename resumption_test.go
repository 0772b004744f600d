package s2n

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Session resumption: the ticket callback and the client session cache
// (TLS 1.3 tickets arrive inside Recv, where s2n calls into Go), the
// server's TLS 1.2 session-ID cache with a Retrieve that runs off the
// handshake, ticket settings and counts, and callbacks that fail.

// resumeVersions are the protocol versions resumption runs over.
var resumeVersions = []struct {
	name    string
	policy  string
	version ProtocolVersion
	goMax   uint16
}{
	{"tls13", "default_tls13", TLS13, tls.VersionTLS13},
	{"tls12", policyTLS12, TLS12, tls.VersionTLS12},
}

// ticketServerConfig is a server Config for policy that issues tickets.
func ticketServerConfig(t testing.TB, policy string, key *testKey) *Config {
	t.Helper()
	cfg := newTestConfig(t, configOpts{policy: policy, chain: key})
	require.NoError(t, cfg.SetSessionTickets(true))
	addTicketKey(t, cfg)
	return cfg
}

// addTicketKey adds a random ticket key (s2n ignores one added before
// tickets or a session cache are on).
func addTicketKey(t testing.TB, cfg *Config) {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	require.NoError(t, cfg.AddTicketKey([]byte("resume-test"), key, time.Time{}))
}

// ticketLog records the tickets a SessionTicketFunc receives.
type ticketLog struct {
	mu      sync.Mutex
	tickets []*SessionTicket
}

func (l *ticketLog) fn(conn *Connection, t *SessionTicket) error {
	if conn == nil {
		return errors.New("no connection")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tickets = append(l.tickets, t)
	return nil
}

func (l *ticketLog) all() []*SessionTicket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*SessionTicket(nil), l.tickets...)
}

// echoServer serves cfg, echoing one message per connection, and reports
// each server Conn's DidResume.
func echoServer(t testing.TB, cfg *Config, n int) (addr string, resumed <-chan bool) {
	t.Helper()
	return serveResults(t, cfg, n, func(c *Conn) bool {
		if err := echoOnce(c); err != nil {
			t.Errorf("server: %v", err)
		}
		return c.ConnectionState().DidResume
	})
}

// roundTrip writes a message and reads its echo: the Read also takes in
// the TLS 1.3 tickets sent after the handshake.
func roundTrip(t testing.TB, c net.Conn) {
	t.Helper()
	msg := []byte("resume me")
	_, err := c.Write(msg)
	require.NoError(t, err)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, msg, got)
}

// TestResumeTicketCallbackAndClientCache: a binding client with a ticket
// callback and a client session cache gets tickets from a binding server
// (TLS 1.3: inside Recv) and its second connection resumes, without the
// application handling sessions itself.
func TestResumeTicketCallbackAndClientCache(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, v := range resumeVersions {
		t.Run(v.name, func(t *testing.T) {
			addr, resumed := echoServer(t, ticketServerConfig(t, v.policy, ec), 2)
			client := clientConfig(t, v.policy, ec)
			var log ticketLog
			require.NoError(t, client.SetSessionTicketCallback(log.fn))
			cache := NewLRUClientSessionCache(4)
			require.NoError(t, client.SetClientSessionCache(cache))

			for i, want := range []bool{false, true} {
				c, err := Dial("tcp", addr, client)
				require.NoError(t, err)
				roundTrip(t, c)
				st := c.ConnectionState()
				require.Equal(t, want, st.DidResume, "connection %d", i)
				require.Equal(t, want, c.Connection().IsSessionResumed())
				require.NoError(t, c.Close())
				require.Equal(t, want, await(t, resumed, "server result"), "server's DidResume, connection %d", i)
				// A TLS 1.2 server that resumes by ticket issues no new one.
				tickets := log.all()
				wantTickets := map[ProtocolVersion]int{TLS13: i + 1, TLS12: 1}[v.version]
				require.Len(t, tickets, wantTickets, "tickets after connection %d", i)
				tk := tickets[len(tickets)-1]
				require.NotEmpty(t, tk.Data())
				require.Positive(t, tk.Lifetime())
				session, ok := cache.Get("localhost")
				require.True(t, ok, "the cache holds a session")
				if len(tickets) == i+1 { // a ticket came with this connection
					require.Equal(t, tk.Data(), session)
				}
			}
		})
	}
}

// TestResumeAgainstGoServer: a binding client with a client session cache
// resumes with crypto/tls as the server.
func TestResumeAgainstGoServer(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, v := range resumeVersions {
		t.Run(v.name, func(t *testing.T) {
			goCfg := goPeerConfig(t, ec)
			goCfg.MaxVersion = v.goMax
			addr, results := serveGoTLS(t, goCfg, 2, func(c *tls.Conn) bool {
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				if err == nil {
					_, err = c.Write(buf[:n])
				}
				if err != nil {
					t.Errorf("crypto/tls server: %v", err)
				}
				return c.ConnectionState().DidResume
			})
			client := clientConfig(t, v.policy, ec)
			var log ticketLog
			require.NoError(t, client.SetSessionTicketCallback(log.fn))
			require.NoError(t, client.SetClientSessionCache(NewLRUClientSessionCache(4)))
			for i, want := range []bool{false, true} {
				c, err := Dial("tcp", addr, client)
				require.NoError(t, err)
				roundTrip(t, c)
				require.Equal(t, want, c.ConnectionState().DidResume, "connection %d", i)
				require.NoError(t, c.Close())
				require.Equal(t, want, await(t, results, "crypto/tls result"), "crypto/tls's DidResume, connection %d", i)
			}
			require.NotEmpty(t, log.all(), "crypto/tls's tickets reached the callback")
		})
	}
}

// TestResumeGoClient: crypto/tls clients resume with the binding as the
// server, by ticket in TLS 1.3 and 1.2.
func TestResumeGoClient(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, v := range resumeVersions {
		t.Run(v.name, func(t *testing.T) {
			addr, resumed := echoServer(t, ticketServerConfig(t, v.policy, ec), 2)
			goCfg := goTLSClientConfig(ec)
			goCfg.MaxVersion = v.goMax
			goCfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i, want := range []bool{false, true} {
				c, err := tls.Dial("tcp", addr, goCfg)
				require.NoError(t, err)
				roundTrip(t, c)
				require.Equal(t, want, c.ConnectionState().DidResume, "connection %d", i)
				require.NoError(t, c.Close())
				require.Equal(t, want, await(t, resumed, "server result"), "connection %d", i)
			}
		})
	}
}

// slowCache is a MemorySessionCache whose Retrieve waits for release (or
// sleeps delay) and that counts its calls; onRetrieve, if set, is told of
// each Retrieve as it starts.
type slowCache struct {
	*MemorySessionCache
	delay      time.Duration
	release    chan struct{}
	onRetrieve chan struct{}
	panicIn    string // "Store", "Retrieve" or "Delete" panics

	stores, retrieves, hits, deletes atomic.Int32
}

func newSlowCache() *slowCache { return &slowCache{MemorySessionCache: NewMemorySessionCache(16)} }

func (c *slowCache) Store(key, value []byte, ttl time.Duration) {
	c.stores.Add(1)
	if c.panicIn == "Store" {
		panic("store exploded")
	}
	c.MemorySessionCache.Store(key, value, ttl)
}

func (c *slowCache) Retrieve(key []byte) ([]byte, bool) {
	c.retrieves.Add(1)
	if c.onRetrieve != nil {
		c.onRetrieve <- struct{}{}
	}
	if c.release != nil {
		<-c.release
	}
	time.Sleep(c.delay)
	if c.panicIn == "Retrieve" {
		panic("retrieve exploded")
	}
	v, ok := c.MemorySessionCache.Retrieve(key)
	if ok {
		c.hits.Add(1)
	}
	return v, ok
}

func (c *slowCache) Delete(key []byte) {
	c.deletes.Add(1)
	if c.panicIn == "Delete" {
		panic("delete exploded")
	}
	c.MemorySessionCache.Delete(key)
}

// cacheServerConfig is a TLS 1.2 server Config that caches sessions by ID
// in cache and issues no tickets.
func cacheServerConfig(t testing.TB, key *testKey, cache SessionCache) *Config {
	t.Helper()
	cfg := newTestConfig(t, configOpts{policy: policyTLS12, chain: key})
	require.NoError(t, cfg.SetSessionCache(cache))
	addTicketKey(t, cfg)
	return cfg
}

// TestResumeSessionIDSlowRetrieve: TLS 1.2 session-ID resumption through a
// SessionCache whose Retrieve takes 50 ms: it runs on a goroutine while the
// server Conn's handshake waits, and the second connection resumes, for a
// binding client (through its client session cache) and for crypto/tls.
func TestResumeSessionIDSlowRetrieve(t *testing.T) {
	ec, _, _ := testKeys(t)
	cache := newSlowCache()
	cache.delay = 50 * time.Millisecond
	addr, resumed := echoServer(t, cacheServerConfig(t, ec, cache), 3)

	client := clientConfig(t, policyTLS12, ec)
	clientCache := NewLRUClientSessionCache(4)
	require.NoError(t, client.SetClientSessionCache(clientCache))
	var ids [][]byte
	for i, want := range []bool{false, true} {
		c, err := Dial("tcp", addr, client)
		require.NoError(t, err)
		roundTrip(t, c)
		require.Equal(t, want, c.ConnectionState().DidResume, "connection %d", i)
		id, err := c.Connection().SessionID()
		require.NoError(t, err)
		require.Len(t, id, 32)
		ids = append(ids, id)
		require.NoError(t, c.Close())
		require.Equal(t, want, await(t, resumed, "server result"), "connection %d", i)
	}
	require.Equal(t, ids[0], ids[1], "resumed under the same session ID")
	require.EqualValues(t, 1, cache.stores.Load(), "one full handshake stored its session")
	// An s2n client sends a session ID in every ClientHello: both are
	// looked up, the second one found.
	require.EqualValues(t, 2, cache.retrieves.Load())
	require.EqualValues(t, 1, cache.hits.Load())

	// crypto/tls clients resume by ticket only: with no tickets from this
	// server, a full handshake, whose session is stored too.
	goCfg := goTLSClientConfig(ec)
	goCfg.MaxVersion = tls.VersionTLS12
	goCfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	c, err := tls.Dial("tcp", addr, goCfg)
	require.NoError(t, err)
	roundTrip(t, c)
	require.False(t, c.ConnectionState().DidResume)
	require.NoError(t, c.Close())
	require.False(t, await(t, resumed, "server result"))
	require.EqualValues(t, 2, cache.stores.Load())
	require.Equal(t, 2, cache.Len())
}

// sessionIDPair runs a first TLS 1.2 handshake against a server caching
// sessions in cache and returns a pair whose client offers that session,
// and the session's ID. The cache's counters are reset.
func sessionIDPair(t *testing.T, cache *slowCache) (*pair, []byte) {
	ec, _, _ := testKeys(t)
	server := cacheServerConfig(t, ec, cache)
	client := clientConfig(t, policyTLS12, ec)
	first := newPair(t, server, client)
	first.handshake(t)
	session, err := first.client.Session()
	require.NoError(t, err)
	require.NotEmpty(t, session)
	id, err := first.server.SessionID()
	require.NoError(t, err)
	require.Len(t, id, 32)
	p := newPair(t, server, client)
	require.NoError(t, p.client.SetSession(session))
	cache.stores.Store(0)
	cache.retrieves.Store(0)
	cache.hits.Store(0)
	return p, id
}

// TestResumeRetrieveOffThread: while Retrieve runs, the server's Negotiate
// has returned BlockedOnApplicationInput (no thread waits inside s2n); once
// it returns, the next Negotiate resumes the session.
func TestResumeRetrieveOffThread(t *testing.T) {
	cache := newSlowCache()
	p, _ := sessionIDPair(t, cache)
	cache.release = make(chan struct{})
	cache.onRetrieve = make(chan struct{}, 1)

	// The client's ClientHello, then the server: it starts Retrieve.
	_, err := p.client.Negotiate()
	require.ErrorIs(t, err, ErrBlocked)
	var blocked Blocked
	for i := 0; i < 100; i++ {
		blocked, err = p.server.Negotiate()
		if blocked == BlockedOnApplicationInput {
			break
		}
		require.ErrorIs(t, err, ErrBlocked)
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, BlockedOnApplicationInput, blocked)
	await(t, cache.onRetrieve, "Retrieve started")
	// Still looking up: still blocked, and Retrieve is not started again.
	blocked, err = p.server.Negotiate()
	require.ErrorIs(t, err, ErrBlocked)
	require.Equal(t, BlockedOnApplicationInput, blocked)
	close(cache.release)
	p.handshake(t)
	require.True(t, p.server.IsSessionResumed())
	require.True(t, p.client.IsSessionResumed())
	require.EqualValues(t, 1, cache.retrieves.Load())
	require.EqualValues(t, 1, cache.hits.Load())
}

// TestResumeSessionCacheMiss: a session the cache no longer holds means a
// full handshake, and a new session stored.
func TestResumeSessionCacheMiss(t *testing.T) {
	cache := newSlowCache()
	p, id := sessionIDPair(t, cache)
	cache.MemorySessionCache.Delete(id)
	p.handshake(t)
	require.False(t, p.server.IsSessionResumed())
	require.EqualValues(t, 1, cache.retrieves.Load())
	require.EqualValues(t, 0, cache.hits.Load())
	require.EqualValues(t, 1, cache.stores.Load())
}

// TestResumeDeleteInsideRecv: a record that fails to decrypt makes s2n
// delete the session from the cache inside s2n_recv, which calls into Go
// (Recv then takes its callback-capable path); Shutdown's path too.
func TestResumeDeleteInsideRecv(t *testing.T) {
	ec, _, _ := testKeys(t)
	cache := newSlowCache()
	server := cacheServerConfig(t, ec, cache)
	p := newPair(t, server, clientConfig(t, policyTLS12, ec))
	p.handshake(t)
	p.exchange(t)
	id, err := p.server.SessionID()
	require.NoError(t, err)
	_, ok := cache.MemorySessionCache.Retrieve(id)
	require.True(t, ok, "the session is cached")

	// An application-data record the server cannot decrypt.
	bad := append([]byte{23, 3, 3, 0, 40}, make([]byte, 40)...)
	require.Equal(t, len(bad), writeSome(p.fds[1], bad))
	_, _, err = p.server.Recv(make([]byte, 64))
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrBlocked)
	require.EqualValues(t, 1, cache.deletes.Load())
	_, ok = cache.MemorySessionCache.Retrieve(id)
	require.False(t, ok, "the session was deleted")

	// Shutdown on a healthy connection with a cache: the same path.
	p2 := newPair(t, server, clientConfig(t, policyTLS12, ec))
	p2.handshake(t)
	_, err = p2.client.ShutdownSend()
	require.NoError(t, err)
	_, err = p2.server.Shutdown()
	require.NoError(t, err)
}

// TestResumeTicketCounts: a TLS 1.3 server sends its initial tickets, then
// more on request; the client's callback gets each one.
func TestResumeTicketCounts(t *testing.T) {
	ec, _, _ := testKeys(t)
	server := ticketServerConfig(t, "default_tls13", ec)
	require.NoError(t, server.SetInitialTicketCount(2))
	client := clientConfig(t, "default_tls13", ec)
	var log ticketLog
	require.NoError(t, client.SetSessionTicketCallback(log.fn))
	p := newPair(t, server, client)
	p.handshake(t)
	p.exchange(t)
	n, err := p.server.TicketsSent()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Len(t, log.all(), 2)

	require.NoError(t, p.server.AddNewTicketsToSend(3))
	p.exchange(t) // the server's Send sends them, the client's Recv takes them
	n, err = p.server.TicketsSent()
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Len(t, log.all(), 5)

	_, err = p.client.TicketsSent()
	requireS2nError(t, err, "S2N_ERR_CLIENT_MODE")
}

// TestResumeTicketSettings: lifetimes bound the tickets' lifetime, and
// forward secrecy keeps TLS 1.2 from tickets.
func TestResumeTicketSettings(t *testing.T) {
	ec, _, _ := testKeys(t)
	// ticketLifetime runs a handshake with server (and srv applied to the
	// server connection) and returns the ticket the client received.
	ticketLifetime := func(t *testing.T, policy string, server *Config, srv func(*Connection)) []*SessionTicket {
		client := clientConfig(t, policy, ec)
		var log ticketLog
		require.NoError(t, client.SetSessionTicketCallback(log.fn))
		p := newPair(t, server, client)
		if srv != nil {
			srv(p.server)
		}
		p.handshake(t)
		p.exchange(t)
		return log.all()
	}

	t.Run("session state lifetime", func(t *testing.T) {
		server := ticketServerConfig(t, "default_tls13", ec)
		require.NoError(t, server.SetSessionStateLifetime(10*time.Minute))
		tickets := ticketLifetime(t, "default_tls13", server, nil)
		require.Len(t, tickets, 1)
		require.Equal(t, 10*time.Minute, tickets[0].Lifetime())
	})
	t.Run("keying material lifetime", func(t *testing.T) {
		server := ticketServerConfig(t, "default_tls13", ec)
		tickets := ticketLifetime(t, "default_tls13", server, func(c *Connection) {
			require.NoError(t, c.SetServerKeyingMaterialLifetime(5*time.Minute))
		})
		require.Len(t, tickets, 1)
		require.Equal(t, 5*time.Minute, tickets[0].Lifetime())
	})
	t.Run("ticket key lifetimes", func(t *testing.T) {
		server := newTestConfig(t, configOpts{policy: policyTLS12, chain: ec})
		require.NoError(t, server.SetSessionTickets(true))
		require.NoError(t, server.SetTicketKeyLifetimes(time.Minute, time.Minute))
		addTicketKey(t, server)
		tickets := ticketLifetime(t, policyTLS12, server, nil)
		require.Len(t, tickets, 1)
		// What is left of the key's two minutes, in whole seconds.
		require.LessOrEqual(t, tickets[0].Lifetime(), 2*time.Minute)
		require.Greater(t, tickets[0].Lifetime(), time.Minute)
	})
	t.Run("lifetime hint", func(t *testing.T) {
		server := ticketServerConfig(t, policyTLS12, ec)
		require.NoError(t, server.SetSessionStateLifetime(time.Hour))
		client := clientConfig(t, policyTLS12, ec)
		require.NoError(t, client.SetSessionTickets(true))
		p := newPair(t, server, client)
		_, err := p.client.SessionTicketLifetimeHint()
		requireS2nError(t, err, "S2N_ERR_SESSION_TICKET_NOT_SUPPORTED")
		p.handshake(t)
		hint, err := p.client.SessionTicketLifetimeHint()
		require.NoError(t, err)
		require.Equal(t, time.Hour, hint)
	})
	for _, v := range resumeVersions {
		t.Run("forward secrecy/"+v.name, func(t *testing.T) {
			server := ticketServerConfig(t, v.policy, ec)
			require.NoError(t, server.RequireTicketForwardSecrecy(true))
			tickets := ticketLifetime(t, v.policy, server, nil)
			want := map[ProtocolVersion]int{TLS13: 1, TLS12: 0}[v.version]
			require.Len(t, tickets, want, "TLS 1.2 tickets are not forward secret")
		})
	}
}

// TestResumeSettingsValidation: out-of-range settings fail before s2n.
func TestResumeSettingsValidation(t *testing.T) {
	cfg := newTestConfig(t, configOpts{})
	conn, err := NewConnection(ModeServer)
	require.NoError(t, err)
	defer conn.Close()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"state lifetime 0", cfg.SetSessionStateLifetime(0)},
		{"state lifetime negative", cfg.SetSessionStateLifetime(-time.Second)},
		{"state lifetime 200 years", cfg.SetSessionStateLifetime(200 * 365 * 24 * time.Hour)},
		{"key lifetime 0", cfg.SetTicketKeyLifetimes(0, time.Hour)},
		{"decrypt lifetime 0", cfg.SetTicketKeyLifetimes(time.Hour, 0)},
		{"keying material 0", conn.SetServerKeyingMaterialLifetime(0)},
		{"keying material beyond uint32 seconds", conn.SetServerKeyingMaterialLifetime(1 << 32 * time.Second)},
	} {
		requireS2nError(t, tc.err, nameInvalidArg, ErrUsage)
	}
	// A fraction of a second rounds up, never down to 0.
	require.NoError(t, cfg.SetSessionStateLifetime(time.Millisecond))
	require.NoError(t, conn.SetServerKeyingMaterialLifetime(time.Millisecond))
}

// TestResumeCallbackFailures: errors and panics in the resumption
// callbacks end the handshake (or Recv) with an error that keeps them.
func TestResumeCallbackFailures(t *testing.T) {
	ec, _, _ := testKeys(t)
	errApp := errors.New("ticket refused")

	t.Run("ticket callback error, TLS 1.2 handshake", func(t *testing.T) {
		client := clientConfig(t, policyTLS12, ec)
		require.NoError(t, client.SetSessionTicketCallback(func(*Connection, *SessionTicket) error { return errApp }))
		p := newPair(t, ticketServerConfig(t, policyTLS12, ec), client)
		_, c := p.drive(t, 10*time.Second)
		require.ErrorIs(t, c.err, errApp)
		requireS2nError(t, c.err, "S2N_ERR_CANCELLED")
	})
	t.Run("ticket callback panic, TLS 1.3 Read", func(t *testing.T) {
		addr, _ := serveResults(t, ticketServerConfig(t, "default_tls13", ec), 1, echoOnce)
		client := clientConfig(t, "default_tls13", ec)
		require.NoError(t, client.SetSessionTicketCallback(func(*Connection, *SessionTicket) error { panic("ticket exploded") }))
		c, err := Dial("tcp", addr, client)
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Write([]byte("hi"))
		require.NoError(t, err)
		_, err = c.Read(make([]byte, 16))
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "ticket exploded", pe.Value)
	})
	t.Run("client cache Put panic", func(t *testing.T) {
		addr, _ := serveResults(t, ticketServerConfig(t, policyTLS12, ec), 1, func(c *Conn) error { return c.Handshake() })
		client := clientConfig(t, policyTLS12, ec)
		require.NoError(t, client.SetClientSessionCache(panicCache{}))
		c, err := Dial("tcp", addr, client)
		if c != nil {
			c.Close()
		}
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
	})
	for _, where := range []string{"Store", "Retrieve"} {
		t.Run(where+" panic", func(t *testing.T) {
			cache := newSlowCache()
			var p *pair
			if where == "Store" {
				cache.panicIn = "Store"
				ec, _, _ := testKeys(t)
				p = newPair(t, cacheServerConfig(t, ec, cache), clientConfig(t, policyTLS12, ec))
			} else {
				p, _ = sessionIDPair(t, cache)
				cache.panicIn = "Retrieve"
			}
			s, _ := p.drive(t, 10*time.Second)
			name := map[string]string{"Store": nameCallbackFailed, "Retrieve": nameSessionCache}[where]
			requireS2nError(t, s.err, name)
			var pe *PanicError
			require.ErrorAs(t, s.err, &pe)
			require.Equal(t, map[string]string{"Store": "store exploded", "Retrieve": "retrieve exploded"}[where], pe.Value)
		})
	}
	t.Run("Retrieve panic, Conn", func(t *testing.T) {
		cache := newSlowCache()
		server := cacheServerConfig(t, ec, cache)
		addr, results := serveResults(t, server, 2, func(c *Conn) error { return c.Handshake() })
		client := clientConfig(t, policyTLS12, ec)
		require.NoError(t, client.SetClientSessionCache(NewLRUClientSessionCache(1)))
		c, err := Dial("tcp", addr, client)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.NoError(t, await(t, results, "first server handshake"))
		cache.panicIn = "Retrieve"
		c, err = Dial("tcp", addr, client)
		if c != nil {
			c.Close()
		}
		require.Error(t, err, "the server ended the handshake")
		serr := await(t, results, "second server handshake")
		requireS2nError(t, serr, nameSessionCache)
		var pe *PanicError
		require.ErrorAs(t, serr, &pe)
	})
}

// panicCache is a ClientSessionCache whose Put panics.
type panicCache struct{}

func (panicCache) Get(string) ([]byte, bool) { return nil, false }
func (panicCache) Put(string, []byte)        { panic("put exploded") }

// TestMemorySessionCache: entries expire after their ttl and the oldest
// goes first when the cache is full.
func TestMemorySessionCache(t *testing.T) {
	m := NewMemorySessionCache(2)
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	m.Store([]byte("a"), []byte("1"), time.Minute)
	m.Store([]byte("b"), []byte("2"), time.Hour)
	v, ok := m.Retrieve([]byte("a"))
	require.True(t, ok)
	require.Equal(t, []byte("1"), v)
	m.Store([]byte("c"), []byte("3"), time.Hour) // evicts a, the oldest
	_, ok = m.Retrieve([]byte("a"))
	require.False(t, ok)
	require.Equal(t, 2, m.Len())
	now = now.Add(2 * time.Hour) // b and c expire
	_, ok = m.Retrieve([]byte("b"))
	require.False(t, ok)
	m.Delete([]byte("c"))
	require.Zero(t, m.Len())
	for i := range 100 { // Delete keeps the insertion list bounded
		k := []byte{byte(i)}
		m.Store(k, k, time.Hour)
		m.Delete(k)
	}
	require.LessOrEqual(t, len(m.order), 2*m.max+1)
}

// TestLRUClientSessionCache: the least recently used server goes first; a
// nil session forgets the key.
func TestLRUClientSessionCache(t *testing.T) {
	c := NewLRUClientSessionCache(2)
	c.Put("a", []byte("1"))
	c.Put("b", []byte("2"))
	_, ok := c.Get("a") // a is now the most recent
	require.True(t, ok)
	c.Put("c", []byte("3")) // evicts b
	_, ok = c.Get("b")
	require.False(t, ok)
	v, ok := c.Get("a")
	require.True(t, ok)
	require.True(t, bytes.Equal(v, []byte("1")))
	c.Put("a", nil)
	_, ok = c.Get("a")
	require.False(t, ok)
}
