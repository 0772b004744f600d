// Command serverload is make bench-server: three TLS servers, each in a
// process of its own, under the same load from this process, and a Markdown
// report (bench/server-load.md).
//
// The servers: cmd/s2nd (on the binding), s2n-tls's C s2nd and
// bench/tlsserver (crypto/tls), with the same certificate and TLS 1.3 policy
// (s2n's default_tls13; crypto/tls: TLS 1.3 only). The clients are crypto/tls,
// offering P-256 only. The scenarios:
//
//	full     full TLS 1.3 handshakes (session tickets off): connect, handshake,
//	         read until the server closes (s2nd -n, tlsserver -mode negotiate)
//	resume   the same with tickets on: each client keeps its last ticket and
//	         resumes with it (psk_dhe_ke)
//	rr       1 KiB requests and 1 KiB responses, -rr per connection; the
//	         servers echo (cmd/s2nd -e, tlsserver -mode echo) or, for s2n's C
//	         s2nd (no echo mode) and cmd/s2nd in the same mode, forward what
//	         the client sends to stdout and send what they read on stdin, which
//	         this process relays ("relay": one connection at a time only)
//	bulk     -bulk bytes per connection after a full handshake (s2nd -w -b N,
//	         tlsserver -mode bench)
//
// s2n's C s2nd serves one connection at a time (its --parallelize forks a
// process per connection whose CPU its own rusage does not count, and it
// listens with a backlog of 1), so it runs at concurrency 1 only and is
// compared per CPU-second of the server; it runs twice, as is and with
// S2N_DONT_MLOCK=1 (s2n's allocator without mlock/madvise per allocation,
// as the binding's memory callbacks). cmd/s2nd runs with --parallelize.
//
// Each run starts a fresh server, loads it until the first operation
// completes and then for -warm (not measured), then for -dur: the operations
// that end in that window give the rate and the latencies (with a steady
// load, operations end at the rate the server completes them), and the
// server's CPU time is utime+stime (+cutime+cstime)
// of /proc/PID/stat at the window's ends. Every round runs every case once,
// the servers alternating in a rotating order; the report gives the median
// of the rounds and their range.
//
// With -perf, the binding's s2nd and C s2nd are profiled with perf record
// for one extra window each (full ECDSA handshakes), split by
// bench/perfsplit.py.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	ours, cs2nd, tlsserver string // binaries
	certs                  string // dir with ecdsa.{crt,key}, rsa.{crt,key}
	out                    string // report path
	rounds                 int
	dur, warm              time.Duration
	conc                   []int
	rr                     int // requests per connection
	bulk                   int // bytes per connection
	scenarios              []string
	perf                   bool
	perfdata               string // directory for perf.data files
	smoke                  bool
}

func main() {
	var o options
	var conc, scen string
	flag.StringVar(&o.ours, "ours", "", "cmd/s2nd binary (on the binding)")
	flag.StringVar(&o.cs2nd, "c", "", "s2n-tls's C s2nd binary")
	flag.StringVar(&o.tlsserver, "tlsserver", "", "bench/tlsserver binary")
	flag.StringVar(&o.certs, "certs", "", "directory with ecdsa.crt/key and rsa.crt/key (bench/gencerts.sh)")
	flag.StringVar(&o.out, "o", "bench/server-load.md", "Markdown report")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds (each runs every case once)")
	flag.DurationVar(&o.dur, "dur", 3*time.Second, "measured window per run")
	flag.DurationVar(&o.warm, "warm", time.Second, "unmeasured load before each window")
	flag.StringVar(&conc, "conc", "1,16,64,256", "concurrencies (comma-separated)")
	flag.IntVar(&o.rr, "rr", 100, "rr: requests per connection")
	flag.IntVar(&o.bulk, "bulk", 1<<20, "bulk: bytes per connection")
	flag.StringVar(&scen, "scenarios", "full,resume,rr,bulk", "scenarios (comma-separated)")
	flag.BoolVar(&o.perf, "perf", false, "profile the two s2nds with perf record (full ECDSA handshakes)")
	flag.StringVar(&o.perfdata, "perfdata", "", "where -perf leaves its perf.data files (default: a temporary directory)")
	flag.BoolVar(&o.smoke, "s", false, "smoke: one round, 200ms windows, concurrency 1 and 4, 10 requests per connection, 64 KiB bulk; fails unless every case ran without errors")
	flag.Parse()
	if o.smoke {
		o.rounds, o.dur, o.warm, conc, o.rr, o.bulk = 1, 200*time.Millisecond, 50*time.Millisecond, "1,4", 10, 64<<10
	}
	for _, f := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fatalf("bad -conc item %q", f)
		}
		o.conc = append(o.conc, n)
	}
	o.scenarios = strings.Split(scen, ",")
	for _, s := range o.scenarios {
		if !slices.Contains([]string{"full", "resume", "rr", "bulk"}, s) {
			fatalf("unknown scenario %q (full, resume, rr, bulk)", s)
		}
	}
	if o.ours == "" || o.cs2nd == "" || o.tlsserver == "" || o.certs == "" {
		fatalf("-ours, -c, -tlsserver and -certs are needed (bench/server-load.sh sets them)")
	}
	if err := run(&o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "serverload: "+format+"\n", args...)
	os.Exit(1)
}

// Server kinds.
const (
	kindOurs = "cmd/s2nd"
	kindC    = "C s2nd"
	// C s2nd with S2N_DONT_MLOCK=1: s2n's own allocator without mlock and
	// madvise per allocation (the binding allocates through Go's callbacks,
	// which do neither).
	kindCNoMlock = "C s2nd (S2N_DONT_MLOCK)"
	kindGo       = "crypto/tls"
)

// A run case: one server under one load.
type runCase struct {
	scenario string // full, resume, rr, bulk
	cert     string // ecdsa, rsa
	kind     string
	relay    bool // rr through the server's stdin/stdout
	conc     int
}

func (c runCase) server() string {
	if c.relay {
		return c.kind + " relay"
	}
	if c.scenario == "rr" && c.kind == kindOurs {
		return c.kind + " (echo)"
	}
	return c.kind
}

func (c runCase) String() string {
	return fmt.Sprintf("%s/%s/%s/c%d", c.scenario, c.cert, c.server(), c.conc)
}

// result is one run of a case.
type result struct {
	ops      int           // operations in the window
	window   time.Duration // its length
	cpu      time.Duration // the server's CPU time in it
	p50, p99 time.Duration
	errors   int
	firstErr error
	resumed  int // resume: operations that resumed
	bytes    int64
	detail   string // negotiated parameters of one connection
}

func cases(o *options) []runCase {
	var out []runCase
	for _, s := range o.scenarios {
		certs := []string{"ecdsa", "rsa"}
		if s == "rr" || s == "bulk" {
			certs = []string{"ecdsa"}
		}
		for _, cert := range certs {
			add := func(kind string, relay bool, concs []int) {
				for _, n := range concs {
					out = append(out, runCase{s, cert, kind, relay, n})
				}
			}
			one := o.conc[:1]
			if s == "rr" {
				add(kindC, true, one)
				add(kindCNoMlock, true, one)
				add(kindOurs, true, one)
			} else {
				add(kindC, false, one)
				add(kindCNoMlock, false, one)
			}
			add(kindOurs, false, o.conc)
			add(kindGo, false, o.conc)
		}
	}
	return out
}

func run(o *options) error {
	all := cases(o)
	results := map[string][]result{}
	start := time.Now()
	for round := 0; round < o.rounds; round++ {
		// The servers alternate: each round rotates the order of the three
		// kinds within every (scenario, cert, concurrency) group.
		order := rotate([]string{kindOurs, kindC, kindGo, kindCNoMlock}, round)
		var ordered []runCase
		for _, kind := range order {
			for _, c := range all {
				if c.kind == kind {
					ordered = append(ordered, c)
				}
			}
		}
		sort.SliceStable(ordered, func(i, j int) bool {
			a, b := ordered[i], ordered[j]
			if a.scenario != b.scenario {
				return slices.Index(o.scenarios, a.scenario) < slices.Index(o.scenarios, b.scenario)
			}
			if a.cert != b.cert {
				return a.cert < b.cert
			}
			return a.conc < b.conc
		})
		for _, c := range ordered {
			r, err := runOne(o, c, nil)
			if err != nil {
				return fmt.Errorf("round %d, %v: %w", round+1, c, err)
			}
			results[c.String()] = append(results[c.String()], r)
			line := fmt.Sprintf("round %d/%d %-34s %8.0f ops/s  p50 %-9v p99 %-9v cpu %.2fs ops/cpu-s %.0f",
				round+1, o.rounds, c, r.rate(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.cpu.Seconds(), r.perCPU())
			if r.errors > 0 {
				line += fmt.Sprintf("  ERRORS %d (first: %v)", r.errors, r.firstErr)
			}
			if c.scenario == "resume" && r.ops > 0 {
				line += fmt.Sprintf("  resumed %.0f%%", 100*float64(r.resumed)/float64(r.ops))
			}
			fmt.Fprintln(os.Stderr, line)
		}
	}
	var prof []profile
	if o.perf {
		var err error
		if prof, err = profileRuns(o); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	if err := writeReport(o, all, results, prof, elapsed); err != nil {
		return err
	}
	if o.smoke {
		return smokeCheck(all, results)
	}
	return nil
}

func rotate(s []string, n int) []string {
	n %= len(s)
	return append(slices.Clone(s[n:]), s[:n]...)
}

// smokeCheck fails unless every case made progress without errors (and
// the resume cases resumed).
func smokeCheck(all []runCase, results map[string][]result) error {
	var bad []string
	for _, c := range all {
		for _, r := range results[c.String()] {
			switch {
			case r.ops == 0:
				bad = append(bad, c.String()+": no operation completed")
			case r.errors > 0:
				bad = append(bad, fmt.Sprintf("%v: %d errors (first: %v)", c, r.errors, r.firstErr))
			case c.scenario == "resume" && r.resumed == 0:
				bad = append(bad, c.String()+": no session resumed")
			case c.scenario != "resume" && r.resumed > 0:
				bad = append(bad, c.String()+": sessions resumed with tickets off")
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("smoke failed:\n  %s", strings.Join(bad, "\n  "))
	}
	fmt.Fprintf(os.Stderr, "serverload: smoke ok: %d cases ran\n", len(all))
	return nil
}

func (r result) rate() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.ops) / r.window.Seconds()
}

// perCPU is operations per CPU-second of the server.
func (r result) perCPU() float64 {
	if r.cpu <= 0 {
		return 0
	}
	return float64(r.ops) / r.cpu.Seconds()
}

// ---- servers ----------------------------------------------------------------

type serverProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	addr   string
	exited chan struct{}
	relay  *relay
}

// serverArgs is the command line of c's server on port.
func serverArgs(o *options, c runCase, port string) []string {
	crt, key := filepath.Join(o.certs, c.cert+".crt"), filepath.Join(o.certs, c.cert+".key")
	tickets := c.scenario == "resume"
	if c.kind == kindGo {
		args := []string{o.tlsserver, "-cert", crt, "-key", key}
		if tickets {
			args = append(args, "-tickets")
		}
		switch c.scenario {
		case "full", "resume":
			args = append(args, "-mode", "negotiate")
		case "rr":
			args = append(args, "-mode", "echo")
		case "bulk":
			args = append(args, "-mode", "bench", "-bytes", strconv.Itoa(o.bulk))
		}
		return append(args, "127.0.0.1", port)
	}
	bin := o.cs2nd
	if c.kind == kindOurs {
		bin = o.ours
	}
	// -s: no blinding delay (none is expected: a failed handshake is an
	// error of the run either way).
	args := []string{bin, "-c", "default_tls13", "--cert", crt, "--key", key, "-s"}
	if !tickets {
		args = append(args, "-T")
	}
	if c.kind == kindOurs && !c.relay {
		args = append(args, "--parallelize")
	}
	switch c.scenario {
	case "full", "resume":
		args = append(args, "-n")
	case "rr":
		if !c.relay {
			args = append(args, "-e")
		}
	case "bulk":
		args = append(args, "-w", "-b", strconv.Itoa(o.bulk))
	}
	return append(args, "127.0.0.1", port)
}

func startServer(o *options, c runCase) (*serverProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := serverArgs(o, c, port)
	s := &serverProc{cmd: exec.Command(args[0], args[1:]...), addr: "127.0.0.1:" + port, exited: make(chan struct{})}
	s.cmd.Stderr = &s.stderr
	if c.kind == kindCNoMlock {
		s.cmd.Env = append(os.Environ(), "S2N_DONT_MLOCK=1")
	}
	if c.relay {
		if s.relay, err = newRelay(s.cmd); err != nil {
			return nil, err
		}
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if s.relay != nil {
		go s.relay.run()
	}
	deadline := time.Now().Add(15 * time.Second)
	for !listening(port) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("%s exited before listening: %s\n%s", args[0], s.cmd.ProcessState, s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not listen on %s", args[0], s.addr)
		}
	}
	return s, nil
}

func (s *serverProc) stop() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.relay != nil {
		s.relay.stdin.Close()
	}
}

// cpu is the server process's CPU time so far: utime+stime, and those of
// its waited-for children (/proc/PID/stat fields 14-17).
func (s *serverProc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/PID/stat: %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("unexpected /proc/PID/stat: %q", b)
	}
	var ticks int64
	for _, s := range f[11:15] { // fields 14-17; f[0] is field 3
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(clkTck()), nil
}

var clkTck = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if n, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && perr == nil && n > 0 {
		return n
	}
	return 100
})

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// listening reports whether a socket listens on port (from /proc/net/tcp,
// so that no probe connection reaches a server that exits after a failed
// handshake).
func listening(port string) bool {
	p, _ := strconv.Atoi(port)
	want := fmt.Sprintf(":%04X", p)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// relay answers, on the server's stdin, every rrSize bytes of requests the
// server prints on its stdout with an rrSize-byte response. Requests are
// bytes reqByte and the status lines the servers print are ASCII, so
// counting reqByte bytes finds the requests whatever the buffering.
type relay struct {
	stdin  io.WriteCloser
	stdout io.ReadCloser
}

const (
	rrSize   = 1024
	reqByte  = 0xAA
	respByte = 0xBB
)

var (
	request  = bytes.Repeat([]byte{reqByte}, rrSize)
	response = bytes.Repeat([]byte{respByte}, rrSize)
)

func newRelay(cmd *exec.Cmd) (*relay, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	return &relay{stdin: in, stdout: out}, nil
}

func (r *relay) run() {
	buf := make([]byte, 64<<10)
	pending := 0
	for {
		n, err := r.stdout.Read(buf)
		pending += bytes.Count(buf[:n], []byte{reqByte})
		for ; pending >= rrSize; pending -= rrSize {
			if _, werr := r.stdin.Write(response); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// ---- load -------------------------------------------------------------------

// clientConfig is what every client offers: TLS 1.3, P-256, the server's
// certificate as the only root.
func clientConfig(o *options, cert string) (*tls.Config, error) {
	pemBytes, err := os.ReadFile(filepath.Join(o.certs, cert+".crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("no certificate in %s.crt", cert)
	}
	return &tls.Config{
		RootCAs:          pool,
		ServerName:       "localhost",
		MinVersion:       tls.VersionTLS13,
		MaxVersion:       tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.CurveP256},
	}, nil
}

// sample is one operation's outcome.
type sample struct {
	start, end time.Time
	lat        time.Duration
	resumed    bool
	bytes      int64
}

// runOne starts c's server, loads it for o.warm then o.dur, and stops it.
// With perfOut, perf records the server during the window into that file.
func runOne(o *options, c runCase, perfOut *string) (result, error) {
	var res result
	base, err := clientConfig(o, c.cert)
	if err != nil {
		return res, err
	}
	srv, err := startServer(o, c)
	if err != nil {
		return res, err
	}
	defer srv.stop()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu       sync.Mutex
		samples  []sample
		errCount atomic.Int64
		firstErr atomic.Value
		detail   atomic.Value
		wg       sync.WaitGroup
	)
	first := make(chan struct{}) // closed by the first operation's end
	var firstOnce sync.Once
	record := func(s sample) {
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
		firstOnce.Do(func() { close(first) })
	}
	fail := func(err error) {
		if ctx.Err() != nil {
			return // cut off by the end of the run
		}
		errCount.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	for w := 0; w < c.conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := base.Clone()
			if c.scenario == "resume" {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			for ctx.Err() == nil {
				if err := operation(ctx, o, c, srv.addr, cfg, record, &detail); err != nil {
					fail(err)
					if ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
			}
		}()
	}
	// A server may listen before it is ready to serve (C s2nd sets up its
	// config after listen): the warm-up starts with the first operation.
	select {
	case <-first:
	case <-srv.exited:
		return res, fmt.Errorf("server exited: %s\n%s", srv.cmd.ProcessState, srv.stderr.String())
	case <-time.After(20 * time.Second):
		e, _ := firstErr.Load().(error)
		return res, fmt.Errorf("no operation completed in 20s (first error: %v); server stderr: %s", e, srv.stderr.String())
	}
	time.Sleep(o.warm)
	var perf *exec.Cmd
	if perfOut != nil {
		perf = exec.Command("perf", "record", "-q", "-F", strconv.Itoa(perfFreq), "-g", "-o", *perfOut, "-p", strconv.Itoa(srv.cmd.Process.Pid))
		perf.Stderr = os.Stderr
		if err := perf.Start(); err != nil {
			return res, fmt.Errorf("perf record: %w", err)
		}
		time.Sleep(300 * time.Millisecond) // perf attaches
	}
	errCount.Store(0)
	cpu0, err := srv.cpu()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	time.Sleep(o.dur)
	cpu1, err := srv.cpu()
	t1 := time.Now()
	if err != nil {
		return res, fmt.Errorf("%w (server: %s)", err, srv.stderr.String())
	}
	if perf != nil {
		perf.Process.Signal(syscall.SIGINT)
		err := perf.Wait()
		// perf writes its file on SIGINT, then ends by that signal.
		if st, serr := os.Stat(*perfOut); serr != nil || st.Size() == 0 {
			return res, fmt.Errorf("perf record left no data (%v)", err)
		}
	}
	res.errors = int(errCount.Load())
	if e, ok := firstErr.Load().(error); ok && res.errors > 0 {
		res.firstErr = e
	}
	// C s2nd exits after a failed handshake or read, which the end of the
	// run (cutting connections off) may provoke, but not before.
	select {
	case <-srv.exited:
		if res.errors == 0 {
			res.errors = 1
			res.firstErr = fmt.Errorf("server exited during the run: %s", srv.stderr.String())
		}
	default:
	}
	cancel()
	waitTimeout(&wg, 15*time.Second)
	res.window, res.cpu = t1.Sub(t0), cpu1-cpu0
	var lats []time.Duration
	mu.Lock()
	for _, s := range samples {
		if s.end.Before(t0) || s.end.After(t1) {
			continue
		}
		res.ops++
		res.bytes += s.bytes
		if s.resumed {
			res.resumed++
		}
		lats = append(lats, s.lat)
	}
	mu.Unlock()
	slices.Sort(lats)
	res.p50, res.p99 = percentile(lats, 0.50), percentile(lats, 0.99)
	if d, ok := detail.Load().(string); ok {
		res.detail = d
	}
	return res, nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// percentile of sorted (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// operation runs one unit of c's load: one connection (full, resume, bulk)
// or one connection's -rr requests (rr, each request a sample).
func operation(ctx context.Context, o *options, c runCase, addr string, cfg *tls.Config, record func(sample), detail *atomic.Value) error {
	start := time.Now()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	conn := tls.Client(quickAck{raw.(*net.TCPConn)}, cfg)
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := conn.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	switch c.scenario {
	case "full", "resume", "bulk":
		// The server closes after the handshake (with tickets, after
		// sending them) or after the body; reading to the end also takes
		// in the tickets.
		n, err := io.Copy(io.Discard, conn)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if c.scenario == "bulk" {
			want := int64(len(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", o.bulk)) + o.bulk)
			if n != want {
				return fmt.Errorf("bulk: read %d bytes, want %d", n, want)
			}
		} else if n != 0 {
			return fmt.Errorf("%d unexpected bytes after the handshake", n)
		}
		st := conn.ConnectionState()
		if detail.Load() == nil {
			detail.Store(describe(st))
		}
		record(sample{start: start, end: time.Now(), lat: time.Since(start), resumed: st.DidResume, bytes: n})
		return nil
	}
	// rr
	want := request
	if c.relay {
		want = response
	}
	buf := make([]byte, rrSize)
	for i := 0; i < o.rr && ctx.Err() == nil; i++ {
		t := time.Now()
		if _, err := conn.Write(request); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if _, err := io.ReadFull(conn, buf); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if !bytes.Equal(buf, want) {
			return errors.New("rr: the response is not the expected bytes")
		}
		record(sample{start: t, end: time.Now(), lat: time.Since(t), bytes: rrSize})
	}
	if detail.Load() == nil {
		detail.Store(describe(conn.ConnectionState()))
	}
	return nil
}

// quickAck sets TCP_QUICKACK before each read, so that the client
// acknowledges at once: C s2nd leaves Nagle's algorithm on, and its small
// writes in a row (a session ticket, then close_notify; the HTTP header's
// three records) would otherwise wait for the client's delayed ACK (40 ms)
// each time. The Go servers set TCP_NODELAY.
type quickAck struct{ *net.TCPConn }

func (c quickAck) Read(p []byte) (int, error) {
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return c.TCPConn.Read(p)
}

func describe(st tls.ConnectionState) string {
	return fmt.Sprintf("%s %s %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID)
}

// ---- profiles ---------------------------------------------------------------

const perfFreq = 999

type profile struct {
	c      runCase
	res    result
	split  string // bench/perfsplit.py's output
	report string // perf.data path
}

// profileRuns records the binding's s2nd (concurrency 1 and 16, or the
// largest below) and C s2nd (concurrency 1, as is and with S2N_DONT_MLOCK)
// serving full ECDSA handshakes, the binding's s2nd echoing 1 KiB requests,
// and both s2nds relaying them (stdin/stdout).
func profileRuns(o *options) ([]profile, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("-perf: no perf command (Debian: apt-get install linux-perf)")
	}
	dir := o.perfdata
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "serverload-perf"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	_, self, _, _ := runtime.Caller(0)
	split := filepath.Join(filepath.Dir(self), "..", "perfsplit.py")
	ours := 1
	for _, n := range o.conc {
		if n <= 16 {
			ours = n
		}
	}
	var out []profile
	for _, c := range []runCase{
		{scenario: "full", cert: "ecdsa", kind: kindOurs, conc: 1},
		{scenario: "full", cert: "ecdsa", kind: kindOurs, conc: ours},
		{scenario: "full", cert: "ecdsa", kind: kindC, conc: 1},
		{scenario: "full", cert: "ecdsa", kind: kindCNoMlock, conc: 1},
		{scenario: "rr", cert: "ecdsa", kind: kindOurs, conc: ours},
		{scenario: "rr", cert: "ecdsa", kind: kindOurs, relay: true, conc: 1},
		{scenario: "rr", cert: "ecdsa", kind: kindC, relay: true, conc: 1},
	} {
		file := filepath.Join(dir, strings.NewReplacer("/", "-", " ", "-", "(", "", ")", "").Replace(c.String())+".perf.data")
		res, err := runOne(o, c, &file)
		if err != nil {
			return nil, fmt.Errorf("profile %v: %w", c, err)
		}
		text, err := exec.Command("python3", split, file, "8", strconv.Itoa(res.ops), strconv.Itoa(perfFreq)).Output()
		if err != nil {
			return nil, fmt.Errorf("perfsplit %s: %w", file, err)
		}
		fmt.Fprintf(os.Stderr, "profile %v: %d ops, server CPU %v (/proc)\n%s", c, res.ops, res.cpu, text)
		out = append(out, profile{c: c, res: res, split: strings.ReplaceAll(string(text), dir+"/", ""), report: file})
	}
	return out, nil
}
