// Command s2nd is a TLS server on s2n-tls through the Go binding, a drop-in
// replacement of s2n-tls's own s2nd test utility: it takes its flags and
// prints its status lines on stdout (as s2n-tls's integration suite reads
// them), and it shows what the binding is for: the server's private key can
// live elsewhere (a PKCS#11 token, or a simulated remote key with
// --key-latency) and every key operation is offloaded without blocking a
// thread.
//
// With no arguments it serves on localhost:8443 with a throwaway ECDSA P-256
// certificate made at start, its key offloaded. Run "s2nd -h" for the
// options.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/s2n-go/s2n"
	"github.com/s2n-go/s2n/internal/cli"
)

const name = "s2nd"

const usage = `usage: s2nd [options] [host] [port]

A TLS server on s2n-tls, a drop-in replacement of s2n-tls's s2nd utility.
As that one, it prints "Listening on HOST:PORT" on stdout, then serves one
connection at a time: after each handshake it prints the negotiated
parameters and "s2n is ready" on stdout, then prints what the client sends
on stdout and sends the client what it reads on stdin, until the client
closes or stdin ends (the end of stdin closes the connection, and every
later one right after its handshake: see --no-stdin). A failed handshake
is reported on stderr ("Failed to negotiate: ...") and ends s2nd with
status 1, unless --parallelize. With no options it listens on localhost
8443 with a throwaway ECDSA P-256 certificate made at start, its key
offloaded asynchronously.

  host port               where to listen (default localhost 8443; port 0: any free port)

Certificate and key (default: throwaway, offloaded):
      --cert FILE           PEM certificate chain, leaf first
      --key FILE            PEM private key (held by s2n unless --async)
                            --cert and --key may be repeated, in pairs: s2n
                            picks a chain per handshake by the client's SNI and
                            the key types it accepts (the first: the default)
      --pkcs11-key-label L  key pair L in a PKCS#11 token, always offloaded; its
                            certificate comes from --cert or from the token (label L)
      --pkcs11-module PATH  PKCS#11 module (default $S2N_PKCS11_MODULE)
      --pkcs11-token LABEL  token label (default $S2N_PKCS11_TOKEN_LABEL)
      --pkcs11-pin PIN      user PIN (default $S2N_PKCS11_PIN)
      --async               offload key operations to goroutines
      --key-latency DUR     simulated remote-key delay per operation (implies --async)
      --max-inflight N      bound on concurrent key operations (default 0: none)
      --write-cert PATH     write the certificate chain (PEM) to PATH ("-": stdout)
      --ocsp FILE           DER OCSP response to staple with the certificate
                            when a client asks for its status (sent as given)

TLS:
  -c, --ciphers POLICY      s2n security policy (default default_tls13)
  -A, -a, --alpn LIST       ALPN protocols, comma-separated, most preferred first
  -m, --mutualAuth          require a client certificate (its chain is
                            verified, not its names, as s2n-tls's s2nd does)
  -t, --ca-file FILE        trust these certificates for client certificates
                            (used with -m only)
  -i, --insecure            accept any client certificate, unverified (used
                            with -m only)
  -T, --no-session-ticket   disable session resumption by ticket (TLS 1.2
                            clients still resume by session ID, from a cache
                            of 256 sessions)
      --stk-file FILE       session ticket key: FILE's bytes (16 to 64),
                            so that sessions resume across servers sharing
                            FILE. Without it, as s2n-tls's s2nd, a key built
                            into s2nd: sessions resume across restarts, and
                            anyone with s2nd can read its tickets (tests only)
      --random-stk          without --stk-file, a random key per run instead
  -s, --self-service-blinding
                            no delay after a failed handshake (s2n's blinding
                            delay of 10-30s off; for tests only)
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
  -N, --npn                 also negotiate the --alpn protocols by NPN, the
                            pre-ALPN extension some OpenSSL peers need
  -L, --key-log PATH        append the session secrets to PATH in NSS key log
                            format (for Wireshark; debugging only)
  -P, --psk ID,SECRET,HMAC  external TLS 1.3 PSK: identity, hex secret, SHA256
                            or SHA384; repeatable (at most 10), offered or
                            accepted in order
  -E, --max-early-data N    accept up to N bytes of TLS 1.3 early data (0-RTT,
                            in session tickets issued and from resuming
                            clients); early data received is printed, before
                            the parameters, as "Early Data received: DATA"
      --serialize-out FILE  after the exchange (the end of stdin or the
                            client's close), write the connection's TLS
                            state to FILE (s2n's serialization, V1) instead
                            of closing it with close_notify
      --deserialize-in FILE serve each connection accepted as the connection
                            serialized in FILE, without a handshake (and
                            without printing parameters): the client must
                            have been serialized with it (--serialize-out of
                            s2nc) and be deserialized the same way
      --non-blocking        accepted (the binding's I/O is always non-blocking)
      --enter-fips-mode     fail unless s2n-tls runs in FIPS mode (a FIPS
                            build); prints "s2nd entered FIPS mode"
      --ktls                after the handshake, hand the keys to the
                            kernel's TLS (kTLS) where it offers it (AES-GCM,
                            TLS 1.2); the connection's parameters end with a
                            "kTLS send:"/"kTLS recv:" line each, "on" or
                            "off (why)" (s2n-tls's tools have no such flag)
      --timeout DUR         handshake timeout (default 10s)

Mode (default: print what clients send on stdout, send them stdin):
  -e, --echo                send back what each client sends
  -w, --https, --https-server
                            answer GET / with an HTML page of the connection's
                            parameters and the key offload statistics
  -b, --https-bench N       with --https: answer each connection, without
                            reading its request, with an HTTP/1.1 200 of N
                            zero bytes, then close (s2n-tls's s2nd's
                            throughput mode)
  -n, --negotiate           only run the handshake, then close
  -X, --max-conns[=N]       exit after N connections (-X alone, or -XN: 1, or N;
                            default 0: until interrupted). As getopt's optional
                            argument: "-X 5" is -X alone followed by "5"
      --metrics ADDR        serve Prometheus metrics (handshakes, failures,
                            durations) at http://ADDR/metrics
      --parallelize         serve connections at the same time (stdin is not
                            forwarded), and go on after a failed handshake
      --no-stdin            do not forward stdin to clients
  -v, --verbose             also print s2nd's own lines on stderr: where it
                            listens, one summary line per connection, totals
      --version             print the s2n-tls and libcrypto versions
  -h, --help                print this help

Exit status: 0 done, 1 runtime error or failed handshake, 2 usage error.
`

// options is the parsed command line.
type options struct {
	host, port string
	tls        cli.TLSFlags
	key        cli.KeyFlags
	stkFile    string
	randomSTK  bool
	mutual     bool
	echo       bool
	https      bool
	httpsBench int
	maxConns   int
	negotiate  bool
	parallel   bool
	noStdin    bool
	selfBlind  bool
	maxEarly   uint
	deserial   []byte // --deserialize-in's content
	serialOut  string
	serialIn   string
	writeCert  string
	ocspFile   string
	timeout    time.Duration
	version    bool
	metrics    metricsFlags
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stdin, restore := cli.PollableStdin()
	code := run(ctx, os.Args[1:], stdin, os.Stdout, os.Stderr)
	restore()
	stop()
	os.Exit(code)
}

// run is the whole command: it returns the exit status. stdin, if not nil,
// is forwarded to clients.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stdout)
	if err != nil {
		return cli.Report(stderr, name, err)
	}
	if o.version {
		fmt.Fprintf(stdout, "s2nd: s2n-tls %s; libcrypto %s\n", s2n.Version(), s2n.Libcrypto())
		return cli.ExitOK
	}
	if o.noStdin || o.parallel {
		stdin = nil
	}
	return cli.Report(stderr, name, serve(ctx, o, stdin, stdout, stderr))
}

func (o *options) register(fs *cli.FlagSet) {
	o.tls.Register(fs.FlagSet, []string{"A", "a"}, "t")
	cli.Alias(fs.FlagSet, "npn", "N")
	o.key.Multiple = true
	o.key.Register(fs.FlagSet, []string{"cert"}, []string{"key"})
	fs.StringVar(&o.stkFile, "stk-file", "", "session ticket key file")
	fs.BoolVar(&o.randomSTK, "random-stk", false, "a random session ticket key per run")
	fs.BoolVar(&o.mutual, "mutualAuth", false, "require a client certificate")
	cli.Alias(fs.FlagSet, "mutualAuth", "m")
	fs.BoolVar(&o.echo, "echo", false, "send back what each client sends")
	cli.Alias(fs.FlagSet, "echo", "e")
	fs.BoolVar(&o.https, "https", false, "answer GET with a page")
	cli.Alias(fs.FlagSet, "https", "w", "https-server")
	fs.IntVar(&o.httpsBench, "https-bench", 0, "with --https: send N bytes per connection")
	cli.Alias(fs.FlagSet, "https-bench", "b")
	fs.OptionalInt(&o.maxConns, "max-conns", "X", 1, "exit after N connections")
	fs.BoolVar(&o.negotiate, "negotiate", false, "only run the handshake")
	cli.Alias(fs.FlagSet, "negotiate", "n")
	fs.BoolVar(&o.parallel, "parallelize", false, "serve connections at the same time")
	fs.BoolVar(&o.noStdin, "no-stdin", false, "do not forward stdin")
	fs.BoolVar(&o.selfBlind, "self-service-blinding", false, "no delay after a failed handshake")
	cli.Alias(fs.FlagSet, "self-service-blinding", "s")
	fs.UintVar(&o.maxEarly, "max-early-data", 0, "accept up to N bytes of early data")
	cli.Alias(fs.FlagSet, "max-early-data", "E")
	fs.StringVar(&o.serialOut, "serialize-out", "", "serialize the connection to FILE")
	fs.StringVar(&o.serialIn, "deserialize-in", "", "deserialize the connection from FILE")
	fs.StringVar(&o.writeCert, "write-cert", "", "write the certificate chain to PATH")
	fs.StringVar(&o.ocspFile, "ocsp", "", "DER OCSP response to staple")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "handshake timeout")
	fs.BoolVar(&o.version, "version", false, "print versions")
	o.metrics.register(fs.FlagSet)
}

func parseArgs(args []string, stdout io.Writer) (*options, error) {
	o := &options{host: "localhost", port: "8443"}
	fs := cli.NewFlagSet(name, usage, stdout)
	o.register(fs)
	pos, err := fs.ParseArgs(args)
	if err != nil {
		return nil, err
	}
	switch len(pos) {
	case 2:
		if o.port, err = cli.Port(pos[1]); err != nil {
			return nil, err
		}
		fallthrough
	case 1:
		o.host = pos[0]
	case 0:
	default:
		return nil, cli.Usagef("too many arguments: %q", pos[2:])
	}
	return o, o.validate()
}

func (o *options) validate() error {
	switch {
	case o.echo && o.https:
		return cli.Usagef("--echo and --https are exclusive")
	case o.httpsBench < 0:
		return cli.Usagef("--https-bench must not be negative")
	case o.httpsBench > 0 && !o.https:
		return cli.Usagef("--https-bench needs --https")
	case o.maxConns < 0:
		return cli.Usagef("--max-conns must not be negative")
	case o.timeout <= 0:
		return cli.Usagef("--timeout must be positive")
	case o.negotiate && (o.echo || o.https):
		return cli.Usagef("--negotiate, --echo and --https are exclusive")
	case o.https && o.tls.ALPN != "" && o.tls.ALPN != "http/1.1":
		return cli.Usagef("--https speaks HTTP/1.1 only: --alpn must be http/1.1 or absent")
	case o.maxEarly > 1<<32-1:
		return cli.Usagef("--max-early-data %d: at most %d", o.maxEarly, uint32(1<<32-1))
	case o.https && (o.serialOut != "" || o.serialIn != ""):
		return cli.Usagef("--https and --serialize-out or --deserialize-in are exclusive")
	}
	if o.https {
		o.tls.ALPN = "http/1.1"
	}
	return o.key.Validate("--cert", "--key")
}

// keys are the server's chains and keys: the first --cert/--key pair (or
// the throwaway or PKCS#11 key) and the further pairs.
type keys struct {
	main *cli.Key
	more []*cli.Key
}

func (k *keys) Close() {
	k.main.Close()
	for _, key := range k.more {
		key.Close()
	}
}

// loadKeys loads every key the flags name, or makes a throwaway one.
func (o *options) loadKeys() (*keys, error) {
	main, err := o.loadKey()
	if err != nil {
		return nil, err
	}
	more, err := o.key.LoadMore("--cert", "--key")
	if err != nil {
		main.Close()
		return nil, err
	}
	return &keys{main: main, more: more}, nil
}

// loadKey loads the first key the flags name, or makes a throwaway one,
// and the OCSP response to staple with its chain.
func (o *options) loadKey() (*cli.Key, error) {
	var key *cli.Key
	var err error
	if !o.key.Configured() {
		key, err = cli.Throwaway(o.key.Latency)
	} else {
		key, err = o.key.Load("--cert", "--key")
	}
	if err != nil || o.ocspFile == "" {
		return key, err
	}
	if key.OCSPResponse, err = cli.ReadFile("--ocsp", o.ocspFile); err != nil {
		key.Close()
		return nil, err
	}
	return key, nil
}

func (o *options) configure(cfg *s2n.Config, ks *keys) error {
	if !o.mutual {
		// As s2n-tls's s2nd: the client-certificate trust flags count with -m only.
		o.tls.CAFile, o.tls.Insecure = "", false
	}
	if err := o.tls.Apply(cfg); err != nil {
		return err
	}
	if o.selfBlind {
		if err := cfg.SetMaxBlindingDelay(0); err != nil {
			return fmt.Errorf("--self-service-blinding: %w", err)
		}
	}
	// TLS 1.2's DHE suites, as s2n-tls's s2nd offers them.
	if err := cfg.AddDHParams([]byte(cli.FFDHE2048)); err != nil {
		return fmt.Errorf("DH parameters: %w", err)
	}
	if err := ks.main.AddTo(cfg, o.key.MaxInflight); err != nil {
		return err
	}
	for _, key := range ks.more {
		if err := key.AddTo(cfg, 0); err != nil {
			return err
		}
	}
	if o.mutual {
		if err := cfg.SetClientAuthType(s2n.ClientAuthRequired); err != nil {
			return err
		}
		// As s2n-tls's s2nd: the client certificate's chain is verified,
		// not its names.
		if err := cfg.SetVerifyHostCallback(func(string) bool { return true }); err != nil {
			return err
		}
	}
	var stk []byte
	if o.stkFile != "" {
		var err error
		if stk, err = cli.ReadFile("--stk-file", o.stkFile); err != nil {
			return err
		}
	}
	if err := enableResumption(cfg, !o.tls.NoTickets, stk, o.randomSTK); err != nil {
		return fmt.Errorf("session resumption: %w", err)
	}
	if o.maxEarly > 0 {
		if err := cfg.SetServerMaxEarlyDataSize(uint32(o.maxEarly)); err != nil {
			return fmt.Errorf("--max-early-data: %w", err)
		}
	}
	if o.serialOut != "" {
		if err := cfg.SetSerializationVersion(s2n.SerializationV1); err != nil {
			return fmt.Errorf("--serialize-out: %w", err)
		}
	}
	return nil
}

// sessionCacheSize is how many TLS 1.2 sessions s2nd caches by ID, as many
// as s2n-tls's own s2nd.
const sessionCacheSize = 256

// builtinTicketKey is s2nd's ticket key without --stk-file, fixed as
// s2n-tls's s2nd's is, so that a session resumes on a later run (s2n-tls's
// test suite restarts s2nd between the two connections): a test key, public.
var builtinTicketKey = sha256.Sum256([]byte("s2nd built-in session ticket key (public: tests only)"))

// enableResumption turns on, as s2n-tls's s2nd does, a TLS 1.2 session-ID
// cache in memory and, unless tickets is false, session tickets, with key
// stk (--stk-file) or, when it is nil, builtinTicketKey or, if random, a
// random key that lives as long as the process. The key also encrypts the
// cached sessions.
func enableResumption(cfg *s2n.Config, tickets bool, stk []byte, random bool) error {
	if err := cfg.SetSessionCache(s2n.NewMemorySessionCache(sessionCacheSize)); err != nil {
		return err
	}
	if tickets {
		if err := cfg.SetSessionTickets(true); err != nil {
			return err
		}
	}
	if stk != nil {
		if err := cfg.AddTicketKey([]byte("s2nd"), stk, time.Time{}); err != nil {
			return fmt.Errorf("--stk-file: %w", err)
		}
		return nil
	}
	if !random {
		return cfg.AddTicketKey([]byte("s2nd"), builtinTicketKey[:], time.Time{})
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return cfg.AddTicketKey([]byte("s2nd"), key, time.Time{})
}

// serve loads the key, listens and serves until ctx ends or --max-conns
// connections are done.
func serve(ctx context.Context, o *options, stdin io.Reader, stdout, stderr io.Writer) error {
	if o.serialIn != "" {
		var err error
		if o.deserial, err = cli.ReadFile("--deserialize-in", o.serialIn); err != nil {
			return err
		}
	}
	if err := o.tls.RequireFIPS(name, stdout); err != nil {
		return err
	}
	if o.https {
		fmt.Fprintln(stdout, "Running s2nd in simple https server mode")
	}
	ks, err := o.loadKeys()
	if err != nil {
		return err
	}
	defer ks.Close()
	key := ks.main
	defer o.tls.Close() // after the Config's Close: the key log outlives it
	cfg, err := cli.NewConfig(func(cfg *s2n.Config) error { return o.configure(cfg, ks) })
	if err != nil {
		return err
	}
	defer cfg.Close()
	stopMetrics, err := o.metrics.start(cfg, stderr)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if o.writeCert != "" {
		if err := key.WriteCert(o.writeCert, stdout); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(o.host, o.port))
	if err != nil {
		return err
	}
	defer l.Close()
	// s2n-tls's s2nd prints the host and port as given.
	fmt.Fprintf(stdout, "Listening on %s:%s\n", o.host, o.port)
	s := newServer(o, cfg, key, stdin, stdout, stderr)
	stapling := ""
	if n := len(key.OCSPResponse); n > 0 {
		stapling = fmt.Sprintf("; stapling an OCSP response of %d bytes", n)
	}
	for _, more := range ks.more {
		stapling += fmt.Sprintf("; also certificate %s; key: %s", cli.CertSummary(more.Leaf), more.Describe())
	}
	s.logf("s2nd: listening on %s (policy %s, %s mode); certificate %s; key: %s%s",
		l.Addr(), o.tls.Ciphers, o.mode(), cli.CertSummary(key.Leaf), key.Describe(), stapling)
	err = s.serve(ctx, l)
	s.logf("s2nd: %s", s.totals())
	return err
}

func (o *options) mode() string {
	switch {
	case o.echo:
		return "echo"
	case o.https:
		return "https"
	case o.negotiate:
		return "negotiate"
	}
	return "print"
}
