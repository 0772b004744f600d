package s2n

import (
	"crypto/tls"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// exporterInputs are the label, context and length cases compared with
// crypto/tls: no context, an empty one (the same in TLS 1.3), a real one,
// and lengths shorter and longer than one hash.
var exporterInputs = []struct {
	label   string
	context []byte
	length  int
}{
	{"EXPORTER-s2n-go-test", nil, 32},
	{"EXPORTER-s2n-go-test", []byte{}, 32},
	{"EXPORTER-s2n-go-test", []byte("some context"), 80},
	{"EXPORTER-Channel-Binding", nil, 16},
	{"", []byte("ctx"), 1},
}

// exportAll runs every case of exporterInputs on one side.
func exportAll(export func(string, []byte, int) ([]byte, error)) ([][]byte, error) {
	var out [][]byte
	for _, in := range exporterInputs {
		b, err := export(in.label, in.context, in.length)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// TestExportKeyingMaterialMatchesGoTLS: on one TLS 1.3 connection, the
// binding's exporter and crypto/tls's give the same bytes, with the binding
// as the server and as the client.
func TestExportKeyingMaterialMatchesGoTLS(t *testing.T) {
	ec, _, _ := testKeys(t)

	t.Run("binding-server", func(t *testing.T) {
		exported := make(chan [][]byte, 1)
		addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
			if err := c.Handshake(); err != nil {
				return err
			}
			out, err := exportAll(c.ExportKeyingMaterial)
			exported <- out
			if err != nil {
				return err
			}
			return echoOnce(c)
		})
		c, err := tls.Dial("tcp", addr, goTLSClientConfig(ec))
		require.NoError(t, err)
		defer c.Close()
		// A round trip: the server has exported before it echoes.
		_, err = c.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, make([]byte, 1))
		require.NoError(t, err)
		require.NoError(t, <-served)
		st := c.ConnectionState()
		require.Equal(t, uint16(tls.VersionTLS13), st.Version)
		want, err := exportAll(st.ExportKeyingMaterial)
		require.NoError(t, err)
		requireExports(t, want, <-exported)
	})

	t.Run("binding-client", func(t *testing.T) {
		cert, err := tls.X509KeyPair(ec.certPEM, ec.keyPEM)
		require.NoError(t, err)
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		require.NoError(t, err)
		defer l.Close()
		exported := make(chan [][]byte, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				exported <- nil
				return
			}
			defer c.Close()
			tc := c.(*tls.Conn)
			if tc.Handshake() != nil {
				exported <- nil
				return
			}
			st := tc.ConnectionState()
			out, _ := exportAll(st.ExportKeyingMaterial)
			exported <- out
			io.Copy(io.Discard, c)
		}()
		c, err := Dial("tcp", localhostAddr(l.Addr()), clientConfig(t, "default_tls13", ec))
		require.NoError(t, err)
		defer c.Close()
		require.Equal(t, uint16(tls.VersionTLS13), c.ConnectionState().Version)
		got, err := exportAll(c.ExportKeyingMaterial)
		require.NoError(t, err)
		requireExports(t, <-exported, got)
	})
}

func requireExports(t *testing.T, want, got [][]byte) {
	t.Helper()
	require.Len(t, want, len(exporterInputs), "crypto/tls side exported every case")
	require.Len(t, got, len(exporterInputs), "binding side exported every case")
	for i, in := range exporterInputs {
		require.Len(t, got[i], in.length, "case %d", i)
		require.Equal(t, want[i], got[i], "case %d: label %q context %q length %d", i, in.label, in.context, in.length)
	}
	require.NotEqual(t, got[0], got[3], "different labels give different bytes")
	require.NotEqual(t, got[0], got[2][:32], "a context changes the bytes")
}

// TestExportKeyingMaterialErrors: TLS 1.2 (s2n has no exporter for it),
// before the handshake, after Close, and lengths out of range.
func TestExportKeyingMaterialErrors(t *testing.T) {
	ec, _, _ := testKeys(t)

	t.Run("tls12", func(t *testing.T) {
		exportErr := make(chan error, 1)
		addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
			if err := c.Handshake(); err != nil {
				return err
			}
			_, err := c.ExportKeyingMaterial("EXPORTER-s2n-go-test", nil, 32)
			exportErr <- err
			return echoOnce(c)
		})
		cfg := goTLSClientConfig(ec)
		cfg.MaxVersion = tls.VersionTLS12
		c, err := tls.Dial("tcp", addr, cfg)
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, make([]byte, 1))
		require.NoError(t, err)
		require.NoError(t, <-served)
		err = <-exportErr
		requireS2nError(t, err, nameUnsupportedVersion)
		require.Contains(t, err.Error(), "TLS1.2")
	})

	t.Run("before-handshake-and-after-close", func(t *testing.T) {
		cfg := signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer})
		addr, served := serveResults(t, cfg, 1, func(c *Conn) error {
			_, err := c.ExportKeyingMaterial("EXPORTER-s2n-go-test", nil, 32)
			if err == nil {
				return io.ErrUnexpectedEOF
			}
			requireS2nError(t, err, nameInvalidArg)
			return echoOnce(c)
		})
		c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
		require.NoError(t, err)
		_, err = c.Write([]byte("x"))
		require.NoError(t, err)
		_, err = io.ReadFull(c, make([]byte, 1))
		require.NoError(t, err)
		require.NoError(t, <-served)

		_, err = c.ExportKeyingMaterial("EXPORTER-s2n-go-test", nil, -1)
		requireS2nError(t, err, nameInvalidArg)
		// HKDF-Expand gives 1 to 255 hash lengths (48 bytes at most per
		// hash). In FIPS mode s2n has libcrypto compute HKDF, which reports
		// a too long output its own way.
		fips, err := FIPSMode()
		require.NoError(t, err)
		tooLong := "S2N_ERR_HKDF_OUTPUT_SIZE"
		if fips {
			tooLong = "S2N_ERR_HKDF"
		}
		t.Logf("FIPS mode %v: a too long output fails with %s", fips, tooLong)
		for n, name := range map[int]string{0: "S2N_ERR_HKDF_OUTPUT_SIZE", 255*48 + 1: tooLong} {
			_, err = c.ExportKeyingMaterial("EXPORTER-s2n-go-test", nil, n)
			var se *Error
			require.ErrorAs(t, err, &se, "length %d", n)
			require.Equal(t, name, se.Name, "length %d: %v", n, err)
		}

		st := c.ConnectionState()
		require.Panics(t, func() { st.ExportKeyingMaterial("EXPORTER-s2n-go-test", nil, 32) },
			"the tls.ConnectionState of a Conn has no exporter: ExportKeyingMaterial is on Conn")

		require.NoError(t, c.Close())
		_, err = c.ExportKeyingMaterial("EXPORTER-s2n-go-test", nil, 32)
		requireS2nError(t, err, nameClosed)
	})

	t.Run("low-level-before-handshake", func(t *testing.T) {
		conn, err := NewConnection(ModeClient)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.TLSExporter("EXPORTER-s2n-go-test", nil, 32)
		var se *Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, "S2N_ERR_HANDSHAKE_NOT_COMPLETE", se.Name, "s2n's own error: %v", err)
	})
}
