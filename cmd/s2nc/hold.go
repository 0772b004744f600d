package main

import (
	"net"
	"sync"
)

// TLS record content types (RFC 5246, section 6.2.1).
const (
	recordHandshake       = 22
	recordApplicationData = 23
)

// holdConn is s2nc's transport with --renegotiation wait. s2n-tls's s2nc,
// told to wait, starts the new handshake only once the server has sent
// more data after its HelloRequest, so that application data arrives
// during the new handshake (what the integration suite checks). The Conn
// renegotiates by itself within a Read, so the wait happens here:
// holdUntilData makes the next Write (the new ClientHello) wait until an
// application data record has arrived after the last handshake record
// (the HelloRequest). The records are told apart by their plaintext
// headers; what is read while waiting is kept for the Conn's next Read.
type holdConn struct {
	net.Conn

	mu      sync.Mutex
	ahead   []byte  // read from the socket while a Write waited, not yet read by the Conn
	hdr     [5]byte // the record header being received
	hdrLen  int
	body    int  // bytes of the current record's body still to come
	appData bool // an application data record has begun since the last handshake record
	hold    bool
}

// holdUntilData makes the next Write wait for application data from the
// server, unless some arrived after the last handshake record already.
func (h *holdConn) holdUntilData() {
	h.mu.Lock()
	h.hold = !h.appData
	h.mu.Unlock()
}

func (h *holdConn) Read(p []byte) (int, error) {
	h.mu.Lock()
	if len(h.ahead) > 0 {
		n := copy(p, h.ahead)
		h.ahead = h.ahead[n:]
		h.mu.Unlock()
		return n, nil
	}
	h.mu.Unlock()
	n, err := h.Conn.Read(p)
	h.mu.Lock()
	h.track(p[:n])
	h.mu.Unlock()
	return n, err
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	for h.hold && !h.appData {
		h.mu.Unlock()
		buf := make([]byte, 16*1024)
		n, err := h.Conn.Read(buf)
		h.mu.Lock()
		h.track(buf[:n])
		h.ahead = append(h.ahead, buf[:n]...)
		if err != nil {
			// The Conn's next Read reports it.
			break
		}
	}
	h.hold = false
	h.mu.Unlock()
	return h.Conn.Write(p)
}

// track follows the record headers of the bytes received; h.mu is held.
func (h *holdConn) track(b []byte) {
	for len(b) > 0 {
		if h.body > 0 {
			n := min(h.body, len(b))
			h.body -= n
			b = b[n:]
			continue
		}
		n := copy(h.hdr[h.hdrLen:], b)
		h.hdrLen += n
		b = b[n:]
		if h.hdrLen < len(h.hdr) {
			return
		}
		h.hdrLen = 0
		h.body = int(h.hdr[3])<<8 | int(h.hdr[4])
		switch h.hdr[0] {
		case recordHandshake:
			h.appData = false
		case recordApplicationData:
			h.appData = true
		}
	}
}
