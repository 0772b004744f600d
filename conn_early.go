package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"context"
	"errors"
	"io"
	"net"
)

// Early data (TLS 1.3 0-RTT) on a Conn. Read the replay notes in
// early_data.go first: early data may be a replay, and s2n does nothing
// about it.
//
// Client: WriteEarlyData sends application data with the ClientHello when
// the session offered allows it (a session ticket from a server that
// allows early data, see Config.SetClientSessionCache and
// Connection.SetSession, or an external PSK configured with
// PSK.ConfigureEarlyData). A plain Write never sends early data: it runs
// the handshake first, as crypto/tls does, so data is never made
// replayable without the application asking. If the server rejects the
// early data, s2n does not send it again, and neither does Conn:
// EarlyDataAccepted reports the rejection, and the application sends the
// data again with Write if it still wants to (after a rejection the
// connection may have negotiated something else, an ALPN protocol for
// instance, that changes what it should send).
//
// Server: a server Conn asks s2n for early data (s2n_recv_early_data)
// before every handshake; s2n accepts it only within the maximum size set
// with Config.SetServerMaxEarlyDataSize, Connection.SetServerMaxEarlyDataSize
// or PSK.ConfigureEarlyData (0 by default: early data rejected), and if the
// Config's EarlyDataFunc accepts it (without one s2n accepts what TLS's
// rules allow). Read returns early data as it arrives, before the
// handshake completes: HandshakeComplete is then false, which is how the
// application tells early data (possibly replayed) from data sent after
// the handshake. If Handshake runs first, early data is kept and returned
// by the first Reads after it (check EarlyDataStatus: EarlyDataEnd means
// early data was received). ReadEarlyData reads the early data and stops
// at its end (io.EOF), before the handshake completes, without waiting
// for later data.

// earlyBufSize is the buffer a server's Handshake reads early data into
// (then kept in pendingIn, which s2n's maximum early data size bounds).
const earlyBufSize = 16384

// WriteEarlyData starts a client's handshake and sends b as early data
// with the ClientHello (s2n_send_early_data), as far as the session
// offered allows: it returns how many bytes of b were sent, and sends the
// rest of b not at all (0 when the session allows no early data: send the
// rest with Write). It may be called again, for more early data, until
// Handshake, Read or Write complete the handshake. Whether the server accepted
// the bytes is known once the handshake is complete: see
// EarlyDataAccepted; rejected bytes are not sent again. Early data may be
// replayed by an attacker: send only what is safe to receive twice.
func (c *Conn) WriteEarlyData(b []byte) (int, error) {
	if !c.isClient {
		return 0, usageError(nameInvalidArg, "WriteEarlyData on a server Conn (servers read early data with Read)")
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	switch {
	case c.handshakeErr != nil:
		return 0, c.handshakeErr
	case c.err != nil:
		c.handshakeErr = c.err
		return 0, c.err
	case c.handshakeDone.Load():
		return 0, usageError(nameInvalidArg, "WriteEarlyData after the handshake completed")
	}
	sent := 0
	for sent < len(b) {
		if sent > 0 {
			// Sending more would wait for the server's answer.
			if rem, err := c.c.RemainingEarlyDataSize(); err != nil || rem == 0 {
				break
			}
		}
		n, err := c.drive(context.Background(), func() (int, Blocked, error) {
			return c.c.SendEarlyData(b[sent:])
		})
		if err != nil {
			if c.closed.Load() {
				err = net.ErrClosed
			}
			c.handshakeErr = err
			c.abortKeyOps()
			c.cacheSession(true)
			return sent, err
		}
		if n == 0 { // the session allows no (more) early data
			break
		}
		sent += n
	}
	return sent, nil
}

// EarlyDataStatus reports the state of early data on the connection
// (s2n_connection_get_early_data_status): on a client after
// WriteEarlyData, EarlyDataOK until the server answered; after the
// handshake, EarlyDataEnd if the server accepted it, EarlyDataRejected if
// not, EarlyDataNotRequested if none was offered. It fails after Close.
func (c *Conn) EarlyDataStatus() (EarlyDataStatus, error) {
	if c.c == nil {
		return EarlyDataNotRequested, c.err
	}
	return c.c.EarlyDataStatus()
}

// EarlyDataAccepted runs the handshake to its end, if it is not over, and
// reports whether the early data was accepted
// (s2n_connection_get_early_data_status reports S2N_EARLY_DATA_STATUS_END).
// false with a nil error means the early data was rejected or none was
// offered: on a client, the bytes WriteEarlyData sent were not received,
// and the application sends them again with Write if it still wants to.
func (c *Conn) EarlyDataAccepted() (bool, error) {
	if err := c.Handshake(); err != nil {
		return false, err
	}
	st, err := c.EarlyDataStatus()
	return st == EarlyDataEnd, err
}

// readEarly is Read on a server before its handshake completed: it runs
// the handshake, returning early data into b as it arrives.
func (c *Conn) readEarly(b []byte) (int, error) {
	return c.handshakeContext(context.Background(), b, false)
}

// errEarlyOver stops a server's handshake after the early data phase
// (ReadEarlyData); it never leaves the package.
var errEarlyOver = errors.New("s2n: early data over")

// ReadEarlyData reads a server's early data and only that
// (s2n_recv_early_data): it runs the handshake until early data arrives
// and returns it, or returns 0 and io.EOF once the client's early data is
// over (all of it read, rejected, or none offered), leaving the rest of
// the handshake to Handshake, Read or Write. Unlike Read, it never waits
// for data sent after the handshake: it tells early data from later data,
// and lets the application act once the early data is in (s2n-tls's s2nd
// prints it before the handshake's parameters). If Handshake or Read have
// already run past the early data, it returns io.EOF (Read returns the
// early data the handshake kept). It fails on a client, and with the
// handshake's error once the handshake failed.
func (c *Conn) ReadEarlyData(b []byte) (int, error) {
	if c.isClient {
		return 0, usageError(nameInvalidArg, "ReadEarlyData on a client Conn (clients send early data with WriteEarlyData)")
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := c.handshakeContext(context.Background(), b, true)
	if n == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

// recvEarly runs a server's handshake through its early data phase
// (s2n_recv_early_data): with early, until early data arrives there;
// without, keeping all of it in pendingIn. handshakeMu is held.
func (c *Conn) recvEarly(ctx context.Context, early []byte) (int, error) {
	buf := early
	if buf == nil {
		pooled := recvBufs.Get().(*[16384]byte)
		defer recvBufs.Put(pooled)
		buf = pooled[:earlyBufSize]
	}
	for {
		n, err := c.drive(ctx, func() (int, Blocked, error) {
			return c.c.RecvEarlyData(buf)
		})
		if err != nil {
			return 0, err
		}
		if n == 0 {
			c.earlyDone = true
			return 0, nil
		}
		if early != nil {
			return n, nil
		}
		c.pendingIn = append(c.pendingIn, buf[:n]...)
	}
}

// takePending moves plaintext read ahead (early data kept by the
// handshake, data received during a renegotiation) into b; readMu is held.
func (c *Conn) takePending(b []byte) int {
	if len(c.pendingIn) == 0 {
		return 0
	}
	n := copy(b, c.pendingIn)
	c.pendingIn = c.pendingIn[n:]
	if len(c.pendingIn) == 0 {
		c.pendingIn = nil
	}
	return n
}

// HandshakeComplete reports whether the handshake has completed on this
// Conn. On a server, a Read that returns data while it is false returned
// early data. Unlike ConnectionState, it never runs the handshake.
func (c *Conn) HandshakeComplete() bool { return c.handshakeDone.Load() }
