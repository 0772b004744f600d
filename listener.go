//go:build cgo

package s2n

import (
	"context"
	"net"
)

// listener wraps accepted connections in server-side Conns.
type listener struct {
	net.Listener
	config *Config
}

// Accept waits for the next connection and returns it as a *Conn; the
// handshake runs on its first Read or Write (or Handshake).
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	conn := Server(c, l.config)
	conn.handshakeOnState = true
	return conn, nil
}

// NewListener returns a listener whose connections are TLS servers using
// config. It can be handed to http.Server.Serve.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{Listener: inner, config: config}
}

// Listen listens on the network address and returns a TLS listener.
func Listen(network, addr string, config *Config) (net.Listener, error) {
	if config == nil {
		return nil, usageError(nameInvalidArg, "nil config")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return NewListener(l, config), nil
}

// Dial connects to addr and runs the client handshake; the server name for
// SNI and verification is addr's host.
func Dial(network, addr string, config *Config) (*Conn, error) {
	return DialContext(context.Background(), network, addr, config)
}

// DialContext is Dial with a context bounding the connect and the handshake.
func DialContext(ctx context.Context, network, addr string, config *Config) (*Conn, error) {
	if config == nil {
		return nil, usageError(nameInvalidArg, "nil config")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := Client(raw, config, host)
	if err := c.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
