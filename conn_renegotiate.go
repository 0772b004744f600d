package s2n

// #include "cgo_helpers.h"
import "C"

import (
	"context"
	"errors"
)

// maxRenegData bounds the application data a Conn keeps while it
// renegotiates (what the server sends before its part of the handshake).
const maxRenegData = 1 << 20

// answerRenegotiation carries out, from Read (readMu held), the answer
// the Config's RenegotiateRequestFunc gave during the last Recv. After
// RenegotiateAccept it renegotiates: RenegotiateWipe, the connection's own
// settings made again (blinding, server name), then Renegotiate until the
// new handshake is complete; application data that arrives meanwhile is
// kept for Read, and the read deadline bounds it. After RenegotiateReject
// it sends the no_renegotiation alert s2n queued (a Send of no data,
// which flushes it), so that the server, waiting for a ClientHello, hears
// the answer without the application writing. Writes wait meanwhile. A
// failure ends the connection.
func (c *Conn) answerRenegotiation() error {
	s := c.c.s
	accepted := s.renegAccepted
	s.renegAccepted, s.renegRejected = false, false
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	var err error
	if accepted {
		err = c.renegotiateLocked()
	} else {
		err = c.sendQueuedAlert()
	}
	if err != nil {
		c.failed()
	}
	return err
}

// sendQueuedAlert has s2n write the warning alert it queued and sends it.
func (c *Conn) sendQueuedAlert() error {
	if c.fd != nil {
		return c.sendFd(func() (int, Blocked, error) { return c.c.Send([]byte{}) })
	}
	if _, _, err := c.c.Send([]byte{}); err != nil && !errors.Is(err, ErrBlocked) {
		return c.wrapErr(err)
	}
	return c.flush()
}

func (c *Conn) renegotiateLocked() error {
	if err := c.flush(); err != nil {
		return err
	}
	if err := c.c.RenegotiateWipe(); err != nil {
		return c.wrapErr(err)
	}
	if err := c.c.SetBlinding(SelfServiceBlinding); err != nil {
		return err
	}
	if err := c.setServerName(c.c); err != nil {
		return err
	}
	buf := recvBufs.Get().(*[16384]byte)
	defer recvBufs.Put(buf)
	for {
		n, err := c.drive(context.Background(), func() (int, Blocked, error) { return c.c.Renegotiate(buf[:]) })
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if len(c.pendingIn)+n > maxRenegData {
			return usageError(nameInvalidArg, "more than %d bytes of application data during a renegotiation", maxRenegData)
		}
		c.pendingIn = append(c.pendingIn, buf[:n]...)
	}
	c.state.Store(&stateSnapshot{facts: c.c.readFacts(), conn: c.c})
	return nil
}
