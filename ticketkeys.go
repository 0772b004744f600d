//go:build cgo

package s2n

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Ticket keys shared by a fleet of servers: derived from one secret and
// the clock, with s2n's introduction times, so that every server computes
// the same keys and decrypts the tickets (and the sessions a shared
// SessionCache holds) that any other server encrypted.

// maxTicketKeys is how many ticket keys s2n holds in one Config
// (S2N_MAX_TICKET_KEYS).
const maxTicketKeys = 48

// TicketKeySchedule derives a fleet's session ticket keys from Secret, a
// random secret every server of the fleet shares, and the time. Servers
// holding the same Secret and settings compute the same keys, named the
// same, introduced at the same instants, without talking to each other.
//
// The schedule, with R = Rotation and D = DecryptOnly:
//
//   - key n (n = 0, 1, ...) is introduced at n×R after the Unix epoch;
//   - it encrypts new tickets (and decrypts) for 2×R from then, so at any
//     instant two keys encrypt: s2n picks between them at random, weighting
//     the newer one more as it ages, so traffic moves from one key to the
//     next gradually (s2n_config_set_ticket_encrypt_decrypt_key_lifetime);
//   - then it only decrypts, for D more (s2n_config_set_ticket_decrypt_key_lifetime),
//     after which s2n drops it. s2n gives a ticket a lifetime no longer
//     than what remains of its key's, which is at least D when it is
//     issued: with D at least the session state lifetime
//     ([Config.SetSessionStateLifetime], 15 hours by default) tickets get
//     the whole of it.
//
// The zero Rotation and DecryptOnly are s2n's defaults: a key every hour,
// encrypting for 2 hours, then decrypting for 13 hours.
//
// A key's name is 16 bytes: 8 bytes of an HMAC-SHA256 of Secret (the same
// for every key of one Secret, so keys of different secrets never share a
// name) and n, big-endian. Its 32 bytes are HKDF-SHA256 of Secret with n in
// the info. Secret itself is never given to s2n.
//
// s2n decrypts with a key it holds even before the key's introduction, so
// servers whose clocks differ by less than the keys added ahead (see
// [TicketKeySchedule.Apply]) still resume each other's tickets.
type TicketKeySchedule struct {
	Secret      []byte        // at least 32 random bytes, the same on every server
	Rotation    time.Duration // a new key every Rotation, whole seconds; 0: 1 hour
	DecryptOnly time.Duration // how long a key decrypts after it stops encrypting, whole seconds; 0: 13 hours
}

// TicketKey is one key of a [TicketKeySchedule], the arguments of
// [Config.AddTicketKey].
type TicketKey struct {
	Name       []byte    // 16 bytes
	Key        []byte    // 32 bytes
	Introduced time.Time // when it starts to encrypt
	Index      uint64    // n: Introduced is n×Rotation after the Unix epoch
}

// params checks the schedule and returns its Rotation and DecryptOnly in
// seconds.
func (s *TicketKeySchedule) params() (rot, dec int64, err error) {
	if len(s.Secret) < 32 {
		return 0, 0, usageError(nameInvalidArg, "ticket key schedule: secret of %d bytes, want at least 32", len(s.Secret))
	}
	r, d := s.Rotation, s.DecryptOnly
	if r == 0 {
		r = time.Hour
	}
	if d == 0 {
		d = 13 * time.Hour
	}
	for _, v := range []struct {
		what string
		d    time.Duration
	}{{"rotation", r}, {"decrypt-only lifetime", d}} {
		if v.d < time.Second || v.d%time.Second != 0 || v.d > maxLifetimeSecs*time.Second/2 {
			return 0, 0, usageError(nameInvalidArg, "ticket key schedule: %s %v is not a whole number of seconds in 1s..%v",
				v.what, v.d, maxLifetimeSecs*time.Second/2)
		}
	}
	return int64(r / time.Second), int64(d / time.Second), nil
}

// Lifetimes returns the encrypt-decrypt and decrypt-only lifetimes of each
// key: 2×Rotation and DecryptOnly, defaults applied.
func (s *TicketKeySchedule) Lifetimes() (encryptDecrypt, decryptOnly time.Duration, err error) {
	rot, dec, err := s.params()
	if err != nil {
		return 0, 0, err
	}
	return time.Duration(2*rot) * time.Second, time.Duration(dec) * time.Second, nil
}

// Keys returns the keys that are in use (encrypting or decrypting) at some
// instant from from to to, oldest first. Keys of instants before the Unix
// epoch do not exist.
func (s *TicketKeySchedule) Keys(from, to time.Time) ([]TicketKey, error) {
	rot, dec, err := s.params()
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, usageError(nameInvalidArg, "ticket key schedule: time range ends (%v) before it starts (%v)", to, from)
	}
	life := 2*rot + dec // key n is in use over [n×rot, n×rot+life)
	f, u := from.Unix(), to.Unix()
	if u < 0 {
		return nil, nil
	}
	last := u / rot
	first := int64(0)
	if f-life >= 0 {
		first = (f-life)/rot + 1
	}
	if n := last - first + 1; n > maxTicketKeys {
		return nil, usageError(nameInvalidArg, "ticket key schedule: %d keys in use from %v to %v, s2n holds at most %d",
			n, from, to, maxTicketKeys)
	}
	mac := hmac.New(sha256.New, s.Secret)
	mac.Write([]byte("s2n-go ticket key name"))
	prefix := mac.Sum(nil)[:8]
	var keys []TicketKey
	for n := first; n <= last; n++ {
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], uint64(n))
		key, err := hkdf.Key(sha256.New, s.Secret, nil, "s2n-go ticket key "+string(idx[:]), 32)
		if err != nil {
			return nil, err
		}
		keys = append(keys, TicketKey{
			Name:       append(append([]byte(nil), prefix...), idx[:]...),
			Key:        key,
			Introduced: time.Unix(n*rot, 0),
			Index:      uint64(n),
		})
	}
	return keys, nil
}

// Apply sets cfg's ticket key lifetimes to the schedule's
// ([Config.SetTicketKeyLifetimes]) and adds the keys in use from now to
// now+ahead ([Config.AddTicketKey]), each with its introduction time: the
// ones still decrypting tickets issued before now, the encrypting ones, and
// the ones to be introduced up to now+ahead. With the defaults, ahead may
// be up to about 32 hours (s2n holds at most 48 keys; Apply fails with a
// clear error beyond).
//
// cfg issues tickets until at least now+ahead+Rotation, when its last key
// stops encrypting. A Config cannot be changed once in use, so a server
// that runs longer applies the schedule to a new Config before then and
// serves new connections with it (for example through
// [Config.SetConfigForClient] or a new listener); connections keep the
// Config they started with.
//
// As with AddTicketKey, call Apply after turning on session tickets
// ([Config.SetSessionTickets]) or a session cache ([Config.SetSessionCache]):
// s2n ignores keys added while neither is on.
func (s *TicketKeySchedule) Apply(cfg *Config, now time.Time, ahead time.Duration) error {
	if ahead < 0 {
		return usageError(nameInvalidArg, "ticket key schedule: negative look-ahead %v", ahead)
	}
	ed, do, err := s.Lifetimes()
	if err != nil {
		return err
	}
	keys, err := s.Keys(now, now.Add(ahead))
	if err != nil {
		return err
	}
	if err := cfg.SetTicketKeyLifetimes(ed, do); err != nil {
		return err
	}
	for _, k := range keys {
		// Key 0 is introduced at the epoch itself, which AddTicketKey
		// cannot express (zero means now); it is long expired anyway.
		if k.Index == 0 {
			continue
		}
		if err := cfg.AddTicketKey(k.Name, k.Key, k.Introduced); err != nil {
			return err
		}
	}
	return nil
}
