package s2n

// #include "cgo_helpers.h"
import "C"
import (
	"bytes"
	"container/list"
	"math"
	"sync"
	"time"
	"unsafe"
)

// Session resumption: saved session state, tickets and their keys, the
// ticket callback and a client's session cache, and a server's TLS 1.2
// session-ID cache.

// maxSessionSize bounds serialized session state (tickets are a few hundred
// bytes).
const maxSessionSize = 1 << 16

// SetSession offers a session saved from an earlier connection, for
// resumption (s2n_connection_set_session). Client only.
func (c *Connection) SetSession(session []byte) error {
	if len(session) == 0 || len(session) > maxSessionSize {
		return usageError(nameInvalidArg, "session state of %d bytes", len(session))
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_session(p, (*C.uint8_t)(&session[0]), C.size_t(len(session)), e)
	})
}

// Session returns the state needed to resume this session later, or nil
// when there is none (yet: TLS 1.3 tickets arrive after the handshake, with
// the first Recv) (s2n_connection_get_session_length, s2n_connection_get_session).
func (c *Connection) Session() ([]byte, error) {
	var out []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		buf := make([]byte, 4096)
		n := C.go_s2n_connection_get_session(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
		if int(n) > len(buf) {
			buf = make([]byte, n)
			n = C.go_s2n_connection_get_session(p, (*C.uint8_t)(&buf[0]), C.uint32_t(len(buf)), e)
		}
		if n > 0 {
			out = buf[:n]
		}
		return min(n, 0)
	})
	return out, err
}

// SetSessionTickets turns session tickets on or off
// (s2n_config_set_session_tickets_onoff). A server also needs a ticket key
// (AddTicketKey) to issue them.
func (c *Config) SetSessionTickets(enabled bool) error {
	rec := setting{name: "SetSessionTickets", replay: func(d *Config) error { return d.SetSessionTickets(enabled) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_session_tickets_onoff(p, C.uint8_t(cBool(enabled)), e)
	})
}

// AddTicketKey adds a key that encrypts session tickets, and the sessions
// a SessionCache stores, usable from introduced on (zero: now)
// (s2n_config_add_ticket_crypto_key). name identifies the key (at most 16
// bytes); key must be 16 to 64 random bytes. Call it after
// SetSessionTickets(true) or SetSessionCache: s2n ignores, without an
// error, a key added while neither is on.
func (c *Config) AddTicketKey(name, key []byte, introduced time.Time) error {
	if len(name) == 0 || len(name) > 16 || len(key) < 16 || len(key) > 64 {
		return usageError(nameInvalidArg, "ticket key name must be 1-16 bytes and key 16-64 bytes")
	}
	var intro uint64
	if !introduced.IsZero() {
		// s2n keeps nanoseconds in a uint64: before 1970 would wrap, after
		// 2554 would overflow.
		u := introduced.Unix()
		if u <= 0 || uint64(u) > math.MaxUint64/uint64(time.Second) {
			return usageError(nameInvalidArg, "ticket key introduction time %v out of range", introduced)
		}
		intro = uint64(u)
	} else {
		// What s2n takes for zero, so that a clone's key expires with this one.
		introduced = time.Unix(time.Now().Unix(), 0)
	}
	// s2n takes key as non-const; hand it a copy in C memory.
	ck := C.CBytes(key)
	defer func() {
		clear(unsafe.Slice((*byte)(ck), len(key)))
		C.free(ck)
	}()
	savedName, savedKey := bytes.Clone(name), bytes.Clone(key)
	rec := setting{name: "AddTicketKey", replay: func(d *Config) error { return d.AddTicketKey(savedName, savedKey, introduced) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_add_ticket_crypto_key(p, (*C.uint8_t)(&name[0]), C.uint32_t(len(name)), (*C.uint8_t)(ck),
			C.uint32_t(len(key)), C.uint64_t(intro), e)
	})
}

// seconds converts a lifetime to whole seconds, rounded up so that a
// fraction never becomes 0; it must lie in 1 s..max.
func seconds(d time.Duration, max uint64, what string) (uint64, error) {
	if d <= 0 || d > time.Duration(max)*time.Second {
		return 0, usageError(nameInvalidArg, "%s %v not in 1s..%v", what, d, time.Duration(max)*time.Second)
	}
	return uint64((d + time.Second - 1) / time.Second), nil
}

// maxLifetimeSecs bounds the Config lifetimes: s2n keeps them in
// nanoseconds in a uint64, and a time.Duration holds at most about 292
// years anyway; 100 years is beyond any sensible setting.
const maxLifetimeSecs = 100 * 365 * 24 * 3600

// SetSessionStateLifetime sets how long a server accepts a session for
// resumption after the handshake that made it (s2n_config_set_session_state_lifetime;
// s2n's default is 15 hours). It bounds the lifetime of the tickets it
// issues and of sessions in its session cache. Rounded up to whole seconds.
func (c *Config) SetSessionStateLifetime(d time.Duration) error {
	secs, err := seconds(d, maxLifetimeSecs, "session state lifetime")
	if err != nil {
		return err
	}
	rec := setting{name: "SetSessionStateLifetime", replay: func(dst *Config) error { return dst.SetSessionStateLifetime(d) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_session_state_lifetime(p, C.uint64_t(secs), e)
	})
}

// SetTicketKeyLifetimes sets how long a ticket key encrypts new tickets
// (and decrypts), then how long after that it only decrypts the tickets it
// issued (s2n_config_set_ticket_encrypt_decrypt_key_lifetime, default 2
// hours; s2n_config_set_ticket_decrypt_key_lifetime, default 13 hours).
// Add a new key (AddTicketKey) every half encrypt period or so, so that one
// is always in its encrypting period. Rounded up to whole seconds.
func (c *Config) SetTicketKeyLifetimes(encryptDecrypt, decryptOnly time.Duration) error {
	ed, err := seconds(encryptDecrypt, maxLifetimeSecs, "ticket encrypt-decrypt key lifetime")
	if err != nil {
		return err
	}
	do, err := seconds(decryptOnly, maxLifetimeSecs, "ticket decrypt-only key lifetime")
	if err != nil {
		return err
	}
	rec := setting{name: "SetTicketKeyLifetimes", replay: func(d *Config) error { return d.SetTicketKeyLifetimes(encryptDecrypt, decryptOnly) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_ticket_encrypt_decrypt_key_lifetime(p, C.uint64_t(ed), e) < 0 {
			return -1
		}
		return C.go_s2n_config_set_ticket_decrypt_key_lifetime(p, C.uint64_t(do), e)
	})
}

// RequireTicketForwardSecrecy limits ticket resumption to TLS 1.3, whose
// resumption keeps forward secrecy: a TLS 1.2 connection then neither
// sends nor uses tickets (s2n_config_require_ticket_forward_secrecy).
func (c *Config) RequireTicketForwardSecrecy(required bool) error {
	rec := setting{name: "RequireTicketForwardSecrecy", replay: func(d *Config) error { return d.RequireTicketForwardSecrecy(required) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_require_ticket_forward_secrecy(p, C.bool(required), e)
	})
}

// SetInitialTicketCount sets how many tickets a TLS 1.3 server sends after
// each handshake (s2n_config_set_initial_ticket_count; s2n's default is
// one). It turns session tickets on.
func (c *Config) SetInitialTicketCount(n uint8) error {
	rec := setting{name: "SetInitialTicketCount", replay: func(d *Config) error { return d.SetInitialTicketCount(n) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		return C.go_s2n_config_set_initial_ticket_count(p, C.uint8_t(n), e)
	})
}

// AddNewTicketsToSend makes a TLS 1.3 server send n more tickets, with its
// next Send or Negotiate (s2n_connection_add_new_tickets_to_send).
func (c *Connection) AddNewTicketsToSend(n uint8) error {
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_add_new_tickets_to_send(p, C.uint8_t(n), e)
	})
}

// TicketsSent is how many session tickets this server connection has sent
// (s2n_connection_get_tickets_sent): 0 or 1 in TLS 1.2. It fails on a
// client.
func (c *Connection) TicketsSent() (int, error) {
	var n C.uint16_t
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_get_tickets_sent(p, &n, e)
	})
	return int(n), err
}

// SetServerKeyingMaterialLifetime bounds how long the keys of this
// connection's session may be used through TLS 1.3 resumption, counted
// from the full handshake that made them: tickets issued on a resumed
// connection do not extend it (s2n_connection_set_server_keying_material_lifetime;
// s2n's default is one week). Rounded up to whole seconds.
func (c *Connection) SetServerKeyingMaterialLifetime(d time.Duration) error {
	secs, err := seconds(d, math.MaxUint32, "keying material lifetime")
	if err != nil {
		return err
	}
	return c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		return C.go_s2n_connection_set_server_keying_material_lifetime(p, C.uint32_t(secs), e)
	})
}

// SessionTicketLifetimeHint is the lifetime the server gave the last ticket
// this client received (s2n_connection_get_session_ticket_lifetime_hint).
// It fails (S2N_ERR_SESSION_TICKET_NOT_SUPPORTED) when tickets are off or
// none was received.
func (c *Connection) SessionTicketLifetimeHint() (time.Duration, error) {
	var hint C.int
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		hint = C.go_s2n_connection_get_session_ticket_lifetime_hint(p, e)
		return hint
	})
	if err != nil {
		return 0, err
	}
	return time.Duration(hint) * time.Second, nil
}

// SessionID is the connection's latest TLS 1.2 session ID: on a server
// the key its session is cached under, on a client the one the server gave
// (s2n_connection_get_session_id_length, s2n_connection_get_session_id).
// It is empty in TLS 1.3, which has no session-ID resumption.
func (c *Connection) SessionID() ([]byte, error) {
	var out []byte
	err := c.simple(func(p *C.struct_s2n_connection, e *C.go_s2n_error) C.int {
		n := C.go_s2n_connection_get_session_id_length(p, e)
		if n <= 0 {
			return n
		}
		buf := make([]byte, n)
		n = C.go_s2n_connection_get_session_id(p, (*C.uint8_t)(&buf[0]), C.size_t(len(buf)), e)
		if n > 0 {
			out = buf[:n]
		}
		return min(n, 0)
	})
	return out, err
}

// ---- session tickets a client receives ----

// SessionTicket is a session ticket a client received: the serialized
// session state to resume with ([Connection.SetSession]) and its lifetime.
// It is copied out of s2n's ticket when the callback is raised, so it stays
// valid after the callback returns.
type SessionTicket struct {
	data     []byte
	lifetime time.Duration
}

// Data is the session state to pass to [Connection.SetSession] for a later
// connection to resume this one's session (s2n_session_ticket_get_data_len,
// s2n_session_ticket_get_data). It is the caller's to keep.
func (t *SessionTicket) Data() []byte { return bytes.Clone(t.data) }

// Lifetime is how long the server accepts the ticket, from when it was
// issued (s2n_session_ticket_get_lifetime).
func (t *SessionTicket) Lifetime() time.Duration { return t.lifetime }

// SessionTicketFunc receives each session ticket a client connection gets:
// one in TLS 1.2 (inside Negotiate), one or more in TLS 1.3 (after the
// handshake: inside Recv, so a [Conn] sees them as it Reads). It runs as a
// callback of conn: it may call conn's getters, not Negotiate, Send or
// Recv, and must not block for long (it holds an OS thread). An error or a
// panic fails the call it runs in; the panic never reaches C.
type SessionTicketFunc func(conn *Connection, t *SessionTicket) error

// SetSessionTicketCallback sets the function called with each session
// ticket a client receives (s2n_config_set_session_ticket_cb), and turns
// session tickets on (s2n_config_set_session_tickets_onoff), which a client
// needs to be sent any in TLS 1.3. A
// nil fn removes it. A [Conn] client resumes without it through
// [Config.SetClientSessionCache], which runs too when both are set.
//
// With a callback, Recv and Shutdown of connections using this Config
// decrypt into a buffer of the binding's and copy out of it (at most 16 KiB
// a call), since s2n may call into Go inside them.
func (c *Config) SetSessionTicketCallback(fn SessionTicketFunc) error {
	rec := setting{name: "SetSessionTicketCallback", replay: func(d *Config) error { return d.SetSessionTicketCallback(fn) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_session_ticket_callback(p, cBool(fn != nil || c.s.clientCache != nil), e) < 0 {
			return -1
		}
		if fn != nil && C.go_s2n_config_set_session_tickets_onoff(p, 1, e) < 0 {
			return -1
		}
		c.s.ticketFn = fn
		return 0
	})
}

// ClientSessionCache holds sessions a client [Conn] can resume, by server,
// like crypto/tls's ClientSessionCache: sessionKey is the server name the
// Conn was made with ([Client], [Dial]) or, without one, the peer's
// address; a session is s2n's serialized session state
// ([Connection.Session]). Put may be called more than once per connection
// (a TLS 1.3 server may send several tickets), and with a nil session to
// forget the key's entry. Implementations must be safe for concurrent use;
// Put may run inside s2n, as a callback of the connection (a panic there
// fails the handshake or Read), and must not block.
type ClientSessionCache interface {
	Get(sessionKey string) (session []byte, ok bool)
	Put(sessionKey string, session []byte)
}

// SetClientSessionCache makes each client [Conn] using this Config offer
// the session cache holds for its server, and store each session it can
// resume later: every ticket it receives (through s2n_config_set_session_ticket_cb)
// and, after a TLS 1.2 handshake that gave a session ID but no ticket, its
// session state. A failed handshake that offered a session forgets it. It
// turns session tickets on (s2n_config_set_session_tickets_onoff); a nil
// cache removes it. The low-level [Connection] does not use it: see
// [Connection.SetSession] and [Config.SetSessionTicketCallback].
func (c *Config) SetClientSessionCache(cache ClientSessionCache) error {
	rec := setting{name: "SetClientSessionCache", replay: func(d *Config) error { return d.SetClientSessionCache(cache) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_session_ticket_callback(p, cBool(cache != nil || c.s.ticketFn != nil), e) < 0 {
			return -1
		}
		if cache != nil && C.go_s2n_config_set_session_tickets_onoff(p, 1, e) < 0 {
			return -1
		}
		c.s.clientCache = cache
		return 0
	})
}

// maxTicketData is the size of the first buffer a ticket's session state
// is copied into: it is a few hundred bytes; a larger one takes a second
// call.
const maxTicketData = 4096

// readTicket copies a ticket s2n handed to the callback.
func readTicket(p *C.struct_s2n_session_ticket) (*SessionTicket, error) {
	var e C.go_s2n_error
	var life C.uint32_t
	buf := make([]byte, maxTicketData)
	n := C.go_s2n_session_ticket_read(p, (*C.uint8_t)(&buf[0]), C.size_t(len(buf)), &life, &e)
	if n < 0 {
		return nil, newError(&e, nil)
	}
	if int(n) > len(buf) {
		buf = make([]byte, n)
		if n = C.go_s2n_session_ticket_read(p, (*C.uint8_t)(&buf[0]), C.size_t(len(buf)), &life, &e); n < 0 {
			return nil, newError(&e, nil)
		}
	}
	return &SessionTicket{data: buf[:n:n], lifetime: time.Duration(life) * time.Second}, nil
}

// sessionTicket is the work of the ticket callback for connection s: the
// Conn's client session cache first, then the application's function.
func (s *connState) sessionTicket(p *C.struct_s2n_session_ticket) error {
	conn, cfg := s.driver, s.config
	if conn == nil || cfg == nil || (cfg.ticketFn == nil && cfg.clientCache == nil) {
		return errNoCallback
	}
	t, err := readTicket(p)
	if err != nil {
		return err
	}
	if cfg.clientCache != nil && s.sessionKey != "" {
		cfg.clientCache.Put(s.sessionKey, t.Data())
		s.ticketCached.Store(true)
	}
	if cfg.ticketFn != nil {
		return cfg.ticketFn(conn, t)
	}
	return nil
}

// ---- the server's TLS 1.2 session-ID cache ----

// SessionCache is a server's store of TLS 1.2 sessions by session ID, for
// clients that resume by ID rather than with a ticket. Keys and values are
// s2n's: the session ID, and the session state encrypted with the Config's
// ticket key (so a shared cache holds no secret in the clear). All methods
// must be safe for concurrent use, and get slices that are theirs to keep.
//
//   - Retrieve runs on a goroutine of its own while the handshake waits
//     (Negotiate reports BlockedOnApplicationInput; a [Conn] parks, holding
//     no OS thread), so it may take its time: a networked cache fits. It
//     returns ok == false when it has no entry.
//   - Store and Delete run inside s2n, as callbacks of the connection: they
//     hold an OS thread and must not block (a networked cache queues the
//     write and returns). ttl is how long s2n wants the entry kept.
//
// A panic in any of them fails the handshake (or Recv) with a
// [*PanicError] cause; it never reaches C. [NewMemorySessionCache] is an
// in-process implementation; package redissession is one in Redis, shared
// by several servers (which must then share their ticket keys too: see
// [TicketKeySchedule]).
type SessionCache interface {
	Store(key, value []byte, ttl time.Duration)
	Retrieve(key []byte) (value []byte, ok bool)
	Delete(key []byte)
}

// SetSessionCache makes a server cache TLS 1.2 sessions in cache and resume
// them by session ID (s2n_config_set_cache_store_callback,
// s2n_config_set_cache_retrieve_callback, s2n_config_set_cache_delete_callback,
// s2n_config_set_session_cache_onoff). The Config also needs a ticket key
// (AddTicketKey), which encrypts what is stored. s2n does not cache
// connections that do client authentication. A nil cache turns caching off.
//
// With a cache, Recv and Shutdown of connections using this Config decrypt
// into a buffer of the binding's and copy out of it (at most 16 KiB a
// call), since s2n may call Delete inside them. With the low-level
// [Connection], a Negotiate that reports BlockedOnApplicationInput while
// Retrieve runs is to be called again later; a [Conn] is woken when it
// returns.
func (c *Config) SetSessionCache(cache SessionCache) error {
	rec := setting{name: "SetSessionCache", replay: func(d *Config) error { return d.SetSessionCache(cache) }}
	return c.set(rec, func(p *C.struct_s2n_config, e *C.go_s2n_error) C.int {
		if C.go_s2n_config_set_session_cache(p, cBool(cache != nil), e) < 0 {
			return -1
		}
		c.s.sessionCache = cache
		return 0
	})
}

// callbacksInRecv reports whether s2n may call into Go inside s2n_recv or
// s2n_shutdown for connections of this mode using this Config: they must then take the
// calls' callback-capable path (see cgo_directives.go). The renegotiation
// request callback runs inside s2n_recv (renegotiate.go).
func (st *configState) callbacksInRecv(mode Mode) bool {
	if st == nil {
		return false
	}
	if mode == ModeClient { // tickets arrive, renegotiation is requested
		return st.ticketFn != nil || st.clientCache != nil || st.renegotiateFn != nil
	}
	return st.sessionCache != nil // its Delete, on an error or fatal alert
}

// nameSessionCache: the session cache's Retrieve panicked.
const nameSessionCache = "S2N_GO_ERR_SESSION_CACHE"

// cacheLookup is one Retrieve running on its goroutine for connection s.
type cacheLookup struct {
	key   []byte
	gen   uint64 // the handshake generation that asked
	done  bool
	value []byte
	found bool
	err   error
}

// Results of retrieveSession, as s2n's retrieve callback returns them.
const (
	retrieveFound   = C.S2N_SUCCESS
	retrieveMiss    = C.S2N_FAILURE
	retrieveBlocked = C.S2N_CALLBACK_BLOCKED
)

// retrieveSession is s2n's retrieve callback for connection s: the first
// call for a key starts Retrieve on a goroutine and reports blocked; once
// it has returned, s2n's retry of the handshake calls again and gets the
// value copied into out (*n is its length). A lookup that failed stays
// blocked: the failure is recorded (fail), which Negotiate reports.
func (s *connState) retrieveSession(key, out []byte, n *C.uint64_t) C.int {
	cache := s.config.sessionCache
	if cache == nil {
		return retrieveMiss
	}
	gen := s.gen.Load()
	s.opsMu.Lock()
	l := s.lookup
	if l != nil && l.gen == gen && bytes.Equal(l.key, key) {
		defer s.opsMu.Unlock()
		switch {
		case !l.done || l.err != nil:
			return retrieveBlocked
		case !l.found || len(l.value) > len(out):
			s.lookup = nil
			return retrieveMiss
		}
		s.lookup = nil
		*n = C.uint64_t(copy(out, l.value))
		return retrieveFound
	}
	l = &cacheLookup{key: bytes.Clone(key), gen: gen}
	s.lookup = l
	s.opsMu.Unlock()
	go s.runLookup(cache, l)
	return retrieveBlocked
}

// runLookup runs Retrieve off the handshake, records its answer and wakes
// the handshake.
func (s *connState) runLookup(cache SessionCache, l *cacheLookup) {
	var value []byte
	var found bool
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = &PanicError{Value: r}
			}
		}()
		value, found = cache.Retrieve(bytes.Clone(l.key))
		return nil
	}()
	s.opsMu.Lock()
	l.done, l.value, l.found, l.err = true, value, found, err
	s.opsMu.Unlock()
	if err != nil {
		s.fail(l.gen, &Error{Type: ErrorTypeInternal, Name: nameSessionCache, Message: "session cache Retrieve failed", cause: err})
		return
	}
	s.notify()
}

// ---- an in-memory SessionCache ----

// MemorySessionCache is a [SessionCache] in process memory: at most a
// fixed number of entries, each dropped once its ttl has passed or, when
// full, oldest first. It suits one server process; its sessions are lost
// on restart.
type MemorySessionCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]memoryEntry
	order   []string // keys in insertion order, oldest first (may hold stale keys)
	now     func() time.Time
}

type memoryEntry struct {
	value   []byte
	expires time.Time
}

// NewMemorySessionCache returns a MemorySessionCache holding at most capacity
// entries (at least 1).
func NewMemorySessionCache(capacity int) *MemorySessionCache {
	return &MemorySessionCache{max: max(capacity, 1), entries: map[string]memoryEntry{}, now: time.Now}
}

// Store keeps value under key for ttl.
func (m *MemorySessionCache) Store(key, value []byte, ttl time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := string(key)
	if _, ok := m.entries[k]; !ok {
		for len(m.entries) >= m.max {
			m.evictOldest()
		}
		m.order = append(m.order, k)
	}
	m.entries[k] = memoryEntry{value: bytes.Clone(value), expires: m.now().Add(ttl)}
}

// evictOldest drops the oldest entry still present; mu is held.
func (m *MemorySessionCache) evictOldest() {
	for len(m.order) > 0 {
		k := m.order[0]
		m.order = m.order[1:]
		if _, ok := m.entries[k]; ok {
			delete(m.entries, k)
			return
		}
	}
}

// Retrieve returns a copy of key's value unless it is missing or expired.
func (m *MemorySessionCache) Retrieve(key []byte) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[string(key)]
	if !ok {
		return nil, false
	}
	if !m.now().Before(e.expires) {
		delete(m.entries, string(key))
		return nil, false
	}
	return bytes.Clone(e.value), true
}

// Delete forgets key.
func (m *MemorySessionCache) Delete(key []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, string(key))
	if len(m.order) > 2*m.max { // drop the stale keys Delete left behind
		live := m.order[:0]
		for _, k := range m.order {
			if _, ok := m.entries[k]; ok {
				live = append(live, k)
			}
		}
		m.order = live
	}
}

// Len is how many entries the cache holds, expired ones included until
// they are looked up.
func (m *MemorySessionCache) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// ---- an in-memory ClientSessionCache ----

// NewLRUClientSessionCache returns a [ClientSessionCache] in process memory
// holding the latest session of at most capacity servers (at least 1),
// dropping the least recently used, as crypto/tls's
// NewLRUClientSessionCache does.
func NewLRUClientSessionCache(capacity int) ClientSessionCache {
	return &lruClientCache{max: max(capacity, 1), m: map[string]*list.Element{}}
}

type lruClientCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*list.Element
	l   list.List // front: most recently used
}

type lruEntry struct {
	key     string
	session []byte
}

func (c *lruClientCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.l.MoveToFront(el)
	return bytes.Clone(el.Value.(*lruEntry).session), true
}

func (c *lruClientCache) Put(key string, session []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		if session == nil {
			c.l.Remove(el)
			delete(c.m, key)
			return
		}
		el.Value.(*lruEntry).session = bytes.Clone(session)
		c.l.MoveToFront(el)
		return
	}
	if session == nil {
		return
	}
	if c.l.Len() >= c.max {
		oldest := c.l.Back()
		c.l.Remove(oldest)
		delete(c.m, oldest.Value.(*lruEntry).key)
	}
	c.m[key] = c.l.PushFront(&lruEntry{key: key, session: bytes.Clone(session)})
}
