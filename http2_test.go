package s2n

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
)

// TestConnHTTP2: ALPN picks h2, and HTTP/2 runs over s2n both ways. net/http
// only speaks h2 itself on a *tls.Conn, so the server side hands connections
// that negotiated h2 to x/net/http2's ServeConn, and the client uses
// http2.Transport with the binding as its TLS dialer.
func TestConnHTTP2(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}, "h2", "http/1.1")
	h2 := &http2.Server{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from s2n over "+r.Proto)
	})
	addr, _ := serveResults(t, cfg, 0, func(conn *Conn) error {
		if err := conn.Handshake(); err != nil {
			return err
		}
		if conn.ConnectionState().NegotiatedProtocol == "h2" {
			h2.ServeConn(conn, &http2.ServeConnOpts{Handler: handler})
		}
		return nil
	})

	clientCfg := clientConfig(t, "default_tls13", ec, "h2")
	tr := &http2.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return DialContext(ctx, network, addr, clientCfg)
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, "HTTP/2.0", resp.Proto)
	require.Equal(t, "hello from s2n over HTTP/2.0", string(body))
}
