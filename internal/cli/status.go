package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/s2n-go/s2n"
)

// The status lines of s2n-tls's own s2nc and s2nd (bin/echo.c), which
// s2n-tls's integration suite reads on their stdout: ConnectionInfo after
// each handshake, then Ready; HandshakeFailure on stderr when one fails.

// Ready is the line s2n-tls's tools print once a handshake is done and data
// may flow (the suite waits for it before writing to their stdin).
const Ready = "s2n is ready"

// ConnectionInfo writes what s2n-tls's tools print after a handshake
// (print_connection_info), in their words and order.
func ConnectionInfo(w io.Writer, c *s2n.Conn) {
	conn := c.Connection()
	var b strings.Builder
	version := func(v s2n.ProtocolVersion, err error) int {
		if err != nil {
			return -1
		}
		return int(v)
	}
	b.WriteString("CONNECTED:\n")
	fmt.Fprintf(&b, "Handshake: %s\n", conn.HandshakeTypeName())
	fmt.Fprintf(&b, "Client hello version: %d\n", version(conn.ClientHelloVersion()))
	fmt.Fprintf(&b, "Client protocol version: %d\n", version(conn.ClientProtocolVersion()))
	fmt.Fprintf(&b, "Server protocol version: %d\n", version(conn.ServerProtocolVersion()))
	fmt.Fprintf(&b, "Actual protocol version: %d\n", int(conn.ProtocolVersion()))
	if sni := conn.ServerName(); sni != "" {
		fmt.Fprintf(&b, "Server name: %s\n", sni)
	}
	if proto := conn.ApplicationProtocol(); proto != "" {
		fmt.Fprintf(&b, "Application protocol: %s\n", proto)
	}
	curve, kemGroup := splitGroup(conn.KeyExchangeGroup())
	fmt.Fprintf(&b, "Curve: %s\n", curve)
	// TLS 1.2's post-quantum KEMs are gone from s2n-tls: no KEM to name.
	b.WriteString("KEM: NONE\n")
	fmt.Fprintf(&b, "KEM Group: %s\n", kemGroup)
	if n := len(c.ConnectionState().OCSPResponse); n > 0 {
		fmt.Fprintf(&b, "OCSP response received, length %d\n", n)
	}
	fmt.Fprintf(&b, "Cipher negotiated: %s\n", conn.CipherSuite())
	sig, _ := conn.SelectedSignatureAlgorithm()
	hash, _ := conn.SelectedDigestAlgorithm()
	fmt.Fprintf(&b, "Server signature negotiated: %s+%s\n", sigName(sig), hashName(hash))
	if csig, _ := conn.SelectedClientCertSignatureAlgorithm(); csig != s2n.SignatureAnonymous {
		chash, _ := conn.SelectedClientCertDigestAlgorithm()
		fmt.Fprintf(&b, "Client signature negotiated: %s+%s\n", sigName(csig), hashName(chash))
	}
	resumed := conn.IsSessionResumed()
	if resumed {
		b.WriteString("Resumed session\n")
	}
	if id, err := conn.NegotiatedPSKIdentity(); err == nil && len(id) > 0 && !resumed {
		fmt.Fprintf(&b, "Negotiated PSK identity: %s\n", id)
	}
	status, _ := conn.EarlyDataStatus()
	fmt.Fprintf(&b, "Early Data status: %s\n", earlyDataName(status))
	writeKTLS(&b, c.KTLS())
	io.WriteString(w, b.String())
}

// writeKTLS adds, after --ktls (s2n-tls's tools have no such flag), a line
// per direction: "kTLS send: on", or "off" with why s2n or the kernel
// refused. Nothing without --ktls.
func writeKTLS(b *strings.Builder, st s2n.KTLSStatus) {
	line := func(dir string, on bool, err error) {
		switch {
		case on:
			fmt.Fprintf(b, "kTLS %s: on\n", dir)
		case err != nil:
			fmt.Fprintf(b, "kTLS %s: off (%v)\n", dir, err)
		}
	}
	line("send", st.Send, st.SendErr)
	line("recv", st.Recv, st.RecvErr)
}

// eccCurves are the groups s2n_connection_get_curve names; any other group
// s2n negotiates is a hybrid post-quantum one (s2n_connection_get_kem_group_name).
var eccCurves = map[string]bool{"secp256r1": true, "secp384r1": true, "secp521r1": true, "x25519": true}

// splitGroup turns the negotiated group into the "Curve:" and "KEM Group:"
// values of s2n-tls's tools: an ECC curve, or a hybrid group (whose curve
// s2n_connection_get_curve does not report), "NONE" for the other.
func splitGroup(group string) (curve, kemGroup string) {
	switch {
	case group == "":
		return "NONE", "NONE"
	case eccCurves[group]:
		return group, "NONE"
	}
	return "NONE", group
}

func sigName(a s2n.SignatureAlgorithm) string {
	switch a {
	case s2n.SignatureAnonymous:
		return "None"
	case s2n.SignatureRSA:
		return "RSA"
	case s2n.SignatureECDSA:
		return "ECDSA"
	case s2n.SignatureRSAPSSRSAE:
		return "RSA-PSS-RSAE"
	case s2n.SignatureRSAPSSPSS:
		return "RSA-PSS-PSS"
	case s2n.SignatureMLDSA:
		return "MLDSA"
	}
	return a.String()
}

func hashName(h s2n.HashAlgorithm) string {
	switch h {
	case s2n.HashNone:
		return "None"
	case s2n.HashMD5:
		return "MD5"
	case s2n.HashSHA1:
		return "SHA1"
	case s2n.HashSHA224:
		return "SHA224"
	case s2n.HashSHA256:
		return "SHA256"
	case s2n.HashSHA384:
		return "SHA384"
	case s2n.HashSHA512:
		return "SHA512"
	case s2n.HashMD5SHA1:
		return "MD5_SHA1"
	}
	return fmt.Sprintf("HashAlgorithm(%d)", int(h))
}

func earlyDataName(s s2n.EarlyDataStatus) string {
	switch s {
	case s2n.EarlyDataOK:
		return "IN PROGRESS"
	case s2n.EarlyDataNotRequested:
		return "NOT REQUESTED"
	case s2n.EarlyDataRejected:
		return "REJECTED"
	case s2n.EarlyDataEnd:
		return "ACCEPTED"
	}
	return s.String()
}

// HandshakeFailure writes, as s2n-tls's tools do on stderr, why a handshake
// failed ("Failed to negotiate: 'MESSAGE'. DEBUG") and the alert the peer
// sent, if any ("Alert: CODE"; 0 without one, as s2n_connection_get_alert
// leaves it).
func HandshakeFailure(w io.Writer, c *s2n.Conn, err error) {
	var se *s2n.Error
	if errors.As(err, &se) {
		fmt.Fprintf(w, "Failed to negotiate: '%s'. %s\n", se.Message, se.Debug)
	} else {
		fmt.Fprintf(w, "Failed to negotiate: '%s'.\n", oneLine(err.Error()))
	}
	alert := 0
	if c != nil && c.Connection() != nil {
		if a, aerr := c.Connection().Alert(); aerr == nil {
			alert = a
		}
	}
	fmt.Fprintf(w, "Alert: %d\n", alert)
}

// ToolError writes an error the way s2n-tls's tools do (print_s2n_error):
// "[PID] WHAT: 'MESSAGE' : 'DEBUG'", with s2n's message when err carries one.
func ToolError(w io.Writer, pid int, what string, err error) {
	var se *s2n.Error
	switch {
	case errors.As(err, &se):
		fmt.Fprintf(w, "[%d] %s: '%s' : '%s'\n", pid, what, se.Message, se.Debug)
	case err != nil:
		fmt.Fprintf(w, "[%d] %s: '%s' : ''\n", pid, what, oneLine(err.Error()))
	default:
		fmt.Fprintf(w, "[%d] %s\n", pid, what)
	}
}

// HostMatcher returns the host name check of s2n-tls's s2nc
// (unsafe_verify_host): a certificate name matches host if it is host
// (ignoring case), or a wildcard "*.rest" with host's part after its first
// dot equal to ".rest", and "localhost" and "127.0.0.1" match each other.
func HostMatcher(host string) func(name string) bool {
	isLocal := func(s string) bool { return strings.EqualFold(s, "localhost") || s == "127.0.0.1" }
	return func(name string) bool {
		if len(name) > 2 && strings.HasPrefix(name, "*.") {
			i := strings.Index(host, ".")
			return i >= 0 && strings.EqualFold(host[i:], name[1:])
		}
		if isLocal(name) {
			return isLocal(host)
		}
		return strings.EqualFold(name, host)
	}
}
