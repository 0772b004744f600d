// Command s2nc is a TLS client on s2n-tls through the Go binding, a drop-in
// replacement of s2n-tls's own s2nc test utility: it takes its flags and
// prints its status lines on stdout (as s2n-tls's integration suite reads
// them). Then it sends what it is told to and prints what the server
// answers (on stdout). Its own certificate's key, for mutual
// authentication, can be offloaded like the server's: --async,
// --key-latency, or a PKCS#11 token.
//
// Run "s2nc -h" for the options.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
)

const name = "s2nc"

// reconnects is how many times --reconnect connects again, as s2n-tls's s2nc.
const reconnects = 5

const usage = `usage: s2nc [options] host [port]

A TLS client on s2n-tls, a drop-in replacement of s2n-tls's s2nc utility.
After the handshake it prints, as that one, the negotiated parameters, "s2n
is ready" and "Connected to HOST:PORT" on stdout; a failed handshake is
reported on stderr ("Failed to negotiate: ..."). Then, by default, it closes
its side and prints whatever the server sends until it closes (on stdout);
with --reconnect or --ticket-out and no mode, it closes as soon as it holds
a session to resume, as s2n-tls's s2nc.

  host [port]               where to connect (default port 8443, s2nd's)

Server verification (default: the system trust store):
  -f, --ca-file FILE        trust only these certificates (PEM)
  -i, --insecure            do not verify the server's certificate
  -n, --name NAME           server name sent (SNI) (default: host, even an
                            address). The certificate is verified against
                            host, as s2n-tls's s2nc does: a name equal to host,
                            a wildcard *.rest with host's part after its first
                            dot .rest, and localhost and 127.0.0.1 match each
                            other
  -s, --status              ask the server to staple the OCSP status of its
                            certificate; s2n checks a stapled response unless
                            --insecure, and the parameters say when one came

TLS:
  -c, --ciphers POLICY      s2n security policy (default default_tls13)
  -a, --alpn LIST           ALPN protocols, comma-separated, most preferred first
  -r, --reconnect           connect 6 times in all (as s2n-tls's s2nc), each
                            connection resuming the previous one's session
  -T, --no-session-ticket   disable session tickets
      --ticket-out FILE     save the session (a TLS 1.3 ticket, or a TLS 1.2
                            ticket or session ID) to FILE, to resume later
                            (with --reconnect: the last connection's)
      --ticket-in FILE      resume the session saved in FILE by --ticket-out
      --max-blinding DUR    cap s2n's delay after a failed handshake
                            (default: s2n's, up to 30s)
      --prefer-throughput   send 16 KiB records (s2n's default: about 8 KiB)
      --prefer-low-latency  send records that fit one TCP segment
      --release-idle-buffers
                            free a connection's I/O buffers while it waits
                            for its peer (less memory per idle connection)
      --buffered-send N     send buffer of N bytes: larger gathers several
                            records per write, smaller makes smaller records
                            (at least 1034; default: s2n's, one record)
      --npn                 also negotiate the --alpn protocols by NPN, the
                            pre-ALPN extension some OpenSSL peers need
  -L, --key-log PATH        append the session secrets to PATH in NSS key log
                            format (for Wireshark; debugging only)
  -P, --psk ID,SECRET,HMAC  external TLS 1.3 PSK: identity, hex secret, SHA256
                            or SHA384; repeatable (at most 10), offered or
                            accepted in order
  -D, --dynamic BYTES       send records that fit one Ethernet frame for the
                            first BYTES of the connection, larger ones after
                            (s2n's dynamic record sizing; at most 8 MiB)
      --renegotiation MODE  answer a TLS 1.2 server's renegotiation request:
                            reject (a no_renegotiation alert), accept (print
                            "RENEGOTIATE", run the new handshake, then print
                            the parameters again and "s2n is ready, again"),
                            or wait (as accept, but start the new handshake
                            only once the server has sent application data
                            after its request, which then arrives during it)
  -E, --early-data FILE     send FILE (up to its first NUL byte) as TLS 1.3
                            early data when resuming a session (--ticket-in,
                            or the connections after the first with
                            --reconnect), as far as the server's ticket
                            allows; the parameters report it ("Early Data
                            status: ACCEPTED" or "REJECTED")
      --serialize-out FILE  after the exchange, write the connection's TLS
                            state to FILE (s2n's serialization, V1) instead
                            of closing it with close_notify
      --deserialize-in FILE connect and go on as the connection serialized in
                            FILE, without a handshake (and without printing
                            parameters): the server must have been
                            serialized with it and be deserialized the same
                            way (--serialize-out, --deserialize-in of s2nd)
      --non-blocking        accepted (the binding's I/O is always non-blocking)
      --enter-fips-mode     fail unless s2n-tls runs in FIPS mode (a FIPS
                            build); prints "s2nc entered FIPS mode"
      --ktls                after the handshake, hand the keys to the
                            kernel's TLS (kTLS) where it offers it (AES-GCM,
                            TLS 1.2); the connection's parameters end with a
                            "kTLS send:"/"kTLS recv:" line each, "on" or
                            "off (why)" (s2n-tls's tools have no such flag)
      --timeout DUR         bound on connect and handshake, and on the whole
                            exchange except --echo (default 30s)
      --linger DUR          TLS 1.2 has no half-close: after sending, read the
                            answer until the server is quiet this long, then
                            close (default 500ms; TLS 1.3 closes the sending
                            side and reads until the server closes)

Client certificate, sent when the server asks for one:
  -l, --cert FILE           PEM certificate chain, leaf first
  -k, --key FILE            PEM private key (held by s2n unless --async)
      --pkcs11-key-label L  key pair L in a PKCS#11 token, always offloaded; its
                            certificate comes from --cert or from the token (label L)
      --pkcs11-module PATH  PKCS#11 module (default $S2N_PKCS11_MODULE)
      --pkcs11-token LABEL  token label (default $S2N_PKCS11_TOKEN_LABEL)
      --pkcs11-pin PIN      user PIN (default $S2N_PKCS11_PIN)
      --async               offload key operations to goroutines
      --key-latency DUR     simulated remote-key delay per operation (implies --async)
      --max-inflight N      bound on concurrent key operations (default 0: none)

Mode (at most one):
  -e, --echo                send stdin to the server as it comes, print what it
                            sends; the end of stdin closes the connection (as
                            s2n-tls's s2nc: what the server sends after is lost)
      --send TEXT           send TEXT, close, print the answer
      --send-file FILE      send FILE ("-": stdin), close, print the answer
      --get PATH            HTTPS GET PATH (HTTP/1.1), print the body
  -v, --verbose             also print s2nc's own summary of each connection
                            on stderr
  -q, --quiet               with --verbose, leave the summary out
      --version             print the s2n-tls and libcrypto versions
  -h, --help                print this help

Exit status: 0 done, 1 runtime error, failed handshake (or an HTTP status
>= 400), 2 usage error.
`

// options is the parsed command line.
type options struct {
	host, port, sni string
	tls             cli.TLSFlags
	key             cli.KeyFlags
	echo            bool
	send            string
	sendSet         bool // --send given, even empty
	sendFile        string
	get             string
	reconnect       bool
	earlyData       string
	early           []byte // --early-data's content
	deserial        []byte // --deserialize-in's content
	renegotiation   string
	serialOut       string
	serialIn        string
	ticketIn        string
	ticketOut       string
	status          bool
	dynamic         uint
	timeout         time.Duration
	linger          time.Duration
	quiet, version  bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stdin, restore := cli.PollableStdin()
	code := run(ctx, os.Args[1:], stdin, os.Stdout, os.Stderr)
	restore()
	stop()
	os.Exit(code)
}

// run is the whole command: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stdout)
	if err != nil {
		return cli.Report(stderr, name, err)
	}
	if o.version {
		fmt.Fprintf(stdout, "s2nc: s2n-tls %s; libcrypto %s\n", s2n.Version(), s2n.Libcrypto())
		return cli.ExitOK
	}
	return cli.Report(stderr, name, connect(ctx, o, stdin, stdout, stderr))
}

func (o *options) register(fs *flag.FlagSet) {
	o.tls.Register(fs, []string{"a"}, "f")
	o.key.Register(fs, []string{"cert", "l"}, []string{"key", "k"})
	fs.StringVar(&o.sni, "name", "", "server name (SNI)")
	cli.Alias(fs, "name", "n")
	fs.BoolVar(&o.echo, "echo", false, "send stdin, print what the server sends")
	cli.Alias(fs, "echo", "e")
	fs.Func("send", "send TEXT and close", func(s string) error {
		o.send, o.sendSet = s, true
		return nil
	})
	fs.StringVar(&o.sendFile, "send-file", "", "send FILE and close")
	fs.StringVar(&o.get, "get", "", "HTTPS GET PATH")
	fs.BoolVar(&o.status, "status", false, "request the OCSP status of the server's certificate")
	cli.Alias(fs, "status", "s")
	fs.BoolVar(&o.reconnect, "reconnect", false, "reconnect, resuming the session")
	cli.Alias(fs, "reconnect", "r")
	fs.StringVar(&o.earlyData, "early-data", "", "send FILE as early data")
	cli.Alias(fs, "early-data", "E")
	fs.StringVar(&o.renegotiation, "renegotiation", "", "accept, reject or wait")
	fs.StringVar(&o.serialOut, "serialize-out", "", "serialize the connection to FILE")
	fs.StringVar(&o.serialIn, "deserialize-in", "", "deserialize the connection from FILE")
	fs.StringVar(&o.ticketIn, "ticket-in", "", "resume the session saved in FILE")
	fs.StringVar(&o.ticketOut, "ticket-out", "", "save the session to FILE")
	fs.UintVar(&o.dynamic, "dynamic", 0, "dynamic record sizing threshold in bytes")
	cli.Alias(fs, "dynamic", "D")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout")
	fs.DurationVar(&o.linger, "linger", 500*time.Millisecond, "TLS 1.2: how long to read after sending")
	fs.BoolVar(&o.quiet, "quiet", false, "do not print the parameters")
	cli.Alias(fs, "quiet", "q")
	fs.BoolVar(&o.version, "version", false, "print versions")
}

func parseArgs(args []string, stdout io.Writer) (*options, error) {
	o := &options{port: "8443"}
	fs := cli.NewFlagSet(name, usage, stdout)
	o.register(fs.FlagSet)
	pos, err := fs.ParseArgs(args)
	if err != nil {
		return nil, err
	}
	if o.version {
		return o, nil
	}
	switch len(pos) {
	case 0:
		return nil, cli.Usagef("missing host")
	case 2:
		if o.port, err = cli.Port(pos[1]); err != nil {
			return nil, err
		}
		fallthrough
	case 1:
		o.host = pos[0]
	default:
		return nil, cli.Usagef("too many arguments: %q", pos[2:])
	}
	return o, o.validate()
}

func (o *options) validate() error {
	modes := 0
	for _, set := range []bool{o.echo, o.sendSet, o.sendFile != "", o.get != ""} {
		if set {
			modes++
		}
	}
	switch {
	case modes > 1:
		return cli.Usagef("--echo, --send, --send-file and --get are exclusive")
	case o.tls.Insecure && o.tls.CAFile != "":
		return cli.Usagef("--insecure and --ca-file are exclusive")
	case o.timeout <= 0:
		return cli.Usagef("--timeout must be positive")
	case o.linger <= 0:
		return cli.Usagef("--linger must be positive")
	case o.renegotiation != "" && o.renegotiation != "accept" && o.renegotiation != "reject" && o.renegotiation != "wait":
		return cli.Usagef("--renegotiation %q: accept, reject or wait", o.renegotiation)
	case o.earlyData != "" && o.tls.NoTickets:
		// s2n-tls's s2nc's rule: early data goes with a session ticket.
		return cli.Usagef("--early-data: early data can only be used with session tickets (not with --no-session-ticket)")
	case o.serialIn != "" && (o.get != "" || o.reconnect || o.ticketOut != ""):
		return cli.Usagef("--deserialize-in goes without --get, --reconnect and --ticket-out (the connection has no handshake)")
	case o.serialOut != "" && o.get != "":
		return cli.Usagef("--serialize-out and --get are exclusive")
	case o.get != "" && !strings.HasPrefix(o.get, "/"):
		return cli.Usagef("--get %q: the path must start with /", o.get)
	case o.get != "" && o.tls.ALPN != "" && o.tls.ALPN != "http/1.1":
		return cli.Usagef("--get speaks HTTP/1.1 only: --alpn must be http/1.1 or absent")
	}
	if o.get != "" {
		o.tls.ALPN = "http/1.1"
	}
	if o.sni == "" {
		// s2n checks the server's certificate against the SNI name, so an
		// address is sent too (as s2n-tls's own s2nc does), although RFC
		// 6066 reserves SNI for names: the binding has no separate name to
		// verify (s2n_config_set_verify_host_callback).
		o.sni = o.host
	}
	return o.key.Validate("--cert", "--key")
}

func (o *options) configure(cfg *s2n.Config, key *cli.Key) error {
	if err := o.tls.Apply(cfg); err != nil {
		return err
	}
	if key != nil {
		if err := key.AddTo(cfg, o.key.MaxInflight); err != nil {
			return err
		}
		// Send the certificate if the server asks; do not insist on it.
		if err := cfg.SetClientAuthType(s2n.ClientAuthOptional); err != nil {
			return err
		}
	}
	if !o.tls.NoTickets {
		if err := cfg.SetSessionTickets(true); err != nil {
			return err
		}
	}
	if o.status {
		if err := cfg.SetStatusRequestType(s2n.StatusRequestOCSP); err != nil {
			return fmt.Errorf("--status: %w", err)
		}
	}
	if !o.tls.Insecure {
		// The certificate's names are checked against the host connected
		// to, as s2n-tls's s2nc does (not against --name).
		if err := cfg.SetVerifyHostCallback(cli.HostMatcher(o.host)); err != nil {
			return err
		}
	}
	if o.renegotiation == "reject" {
		reject := func(*s2n.Connection) s2n.RenegotiateResponse { return s2n.RenegotiateReject }
		if err := cfg.SetRenegotiateRequestCallback(reject); err != nil {
			return fmt.Errorf("--renegotiation: %w", err)
		}
	}
	if o.serialOut != "" {
		if err := cfg.SetSerializationVersion(s2n.SerializationV1); err != nil {
			return fmt.Errorf("--serialize-out: %w", err)
		}
	}
	return nil
}

// verification says how the server's certificate was checked.
func (o *options) verification() string {
	switch {
	case o.tls.Insecure:
		return "no (--insecure)"
	case o.tls.CAFile != "":
		return "yes, against " + o.tls.CAFile
	}
	return "yes, against the system trust store"
}

// readFiles reads --early-data's and --deserialize-in's files, before
// connecting. Early data stops at the file's first NUL byte, as s2n-tls's
// s2nc reads it (a C string).
func (o *options) readFiles() error {
	if o.earlyData != "" {
		b, err := cli.ReadFile("--early-data", o.earlyData)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		o.early = b
	}
	if o.serialIn != "" {
		b, err := cli.ReadFile("--deserialize-in", o.serialIn)
		if err != nil {
			return err
		}
		o.deserial = b
	}
	return nil
}

// payload reads what --send or --send-file gives, before connecting: a
// missing file is reported without touching the network, and --reconnect
// sends the same bytes again.
func (o *options) payload(stdin io.Reader) ([]byte, error) {
	switch {
	case o.sendSet:
		return []byte(o.send), nil
	case o.sendFile == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("--send-file -: reading stdin: %w", err)
		}
		return b, nil
	case o.sendFile != "":
		return cli.ReadFile("--send-file", o.sendFile)
	}
	return nil, nil
}

// connect runs one connection, or two with --reconnect (the second resumes
// the first's session).
func connect(ctx context.Context, o *options, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := o.readFiles(); err != nil {
		return err
	}
	if err := o.tls.RequireFIPS(name, stdout); err != nil {
		return err
	}
	var key *cli.Key
	if o.key.Configured() {
		var err error
		if key, err = o.key.Load("--cert", "--key"); err != nil {
			return err
		}
		defer key.Close()
	}
	defer o.tls.Close() // after the Config's Close: the key log outlives it
	c := &client{opts: o, stdin: stdin, stdout: stdout, log: cli.NewSyncWriter(stderr), tickets: make(chan struct{}, 1)}
	cfg, err := cli.NewConfig(func(cfg *s2n.Config) error {
		if err := o.configure(cfg, key); err != nil {
			return err
		}
		if o.renegotiation == "accept" || o.renegotiation == "wait" {
			if err := cfg.SetRenegotiateRequestCallback(c.acceptRenegotiation); err != nil {
				return fmt.Errorf("--renegotiation: %w", err)
			}
		}
		if o.tls.NoTickets {
			return nil
		}
		return cfg.SetSessionTicketCallback(c.gotTicket)
	})
	if err != nil {
		return err
	}
	defer cfg.Close()
	c.cfg = cfg
	if c.payload, err = o.payload(stdin); err != nil {
		return err
	}
	rounds := 1
	if o.reconnect {
		rounds = reconnects + 1
	}
	var ticket []byte
	if o.ticketIn != "" {
		if ticket, err = cli.ReadFile("--ticket-in", o.ticketIn); err != nil {
			return err
		}
		if len(ticket) == 0 {
			return fmt.Errorf("--ticket-in %s: empty file", o.ticketIn)
		}
	}
	for i := 0; i < rounds; i++ {
		if ticket, err = c.round(ctx, ticket); err != nil {
			return err
		}
	}
	if o.ticketOut != "" {
		if len(ticket) == 0 {
			return fmt.Errorf("--ticket-out %s: the server gave no session to resume", o.ticketOut)
		}
		if err := os.WriteFile(o.ticketOut, ticket, 0o600); err != nil {
			return fmt.Errorf("--ticket-out: %w", err)
		}
	}
	if key != nil && key.Signer() != nil && o.tls.Verbose && !o.quiet {
		c.log.Printf("s2nc: client key: %s", key.Signer().StatsString())
	}
	return nil
}
