// Command blindload measures what a server on the binding pays for peers that
// fail handshakes on purpose: each failed handshake is held for s2n's
// blinding delay (10-30 s by default) before the peer learns anything.
//
// It serves with s2n.Listen in this process, and runs the load generator as a
// second process (itself, with -gen): -rate connections a second, each
// sending an application-data record before any handshake (s2n fails to
// decrypt it, a failure it blinds), waiting briefly, then resetting the
// connection (so the generator keeps neither sockets nor TIME_WAIT ports).
// Every -every it samples, in the server process: connections accepted,
// failed handshakes, transports held for blinding and released early
// (SetMaxBlindedConns), open file descriptors, resident memory, Go heap and
// s2n's C memory; it writes a Markdown report.
//
//	go run ./bench/blindload -rate 2000 -for 60s -o bench/blinding-load.md
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/s2n-go/s2n"
)

func main() {
	gen := flag.String("gen", "", "run as the load generator against this address (internal)")
	rate := flag.Int("rate", 2000, "failing handshakes a second")
	dur := flag.Duration("for", 60*time.Second, "how long to load")
	every := flag.Duration("every", 5*time.Second, "sampling interval")
	out := flag.String("o", "", "write the Markdown report here (default: stdout)")
	flag.Parse()
	if *gen != "" {
		if err := generate(*gen, *rate, *dur); err != nil {
			fmt.Fprintln(os.Stderr, "blindload -gen:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(*rate, *dur, *every, *out); err != nil {
		fmt.Fprintln(os.Stderr, "blindload:", err)
		os.Exit(1)
	}
}

// generate opens rate connections a second to addr for dur, spread over the
// loopback addresses 127.0.0.2-9 so that the ports of one do not run out.
func generate(addr string, rate int, dur time.Duration) error {
	record := []byte("\x17\x03\x03\x00\x05hello")
	start := time.Now()
	var sent, failed atomic.Int64
	for i := 0; time.Since(start) < dur; i++ {
		// Paced by the clock, not a ticker (which drops ticks when the
		// machine is busy): catch up on every connection due by now.
		for float64(i) >= time.Since(start).Seconds()*float64(rate) {
			time.Sleep(time.Millisecond)
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}, Timeout: time.Second}
		go func() {
			c, err := d.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			sent.Add(1)
			c.Write(record)
			time.Sleep(200 * time.Millisecond) // the server reads it meanwhile
			c.(*net.TCPConn).SetLinger(0)      // reset: no TIME_WAIT here
			c.Close()
		}()
	}
	time.Sleep(300 * time.Millisecond)
	fmt.Printf("sent %d failed-to-dial %d\n", sent.Load(), failed.Load())
	return nil
}

type sample struct {
	at                         time.Duration
	accepted, failed           int64
	held, evicted              int64
	fds                        int
	rssKiB, heapKiB, cKiB      int64
	goroutines, threads, ticks int
}

func serve(rate int, dur, every time.Duration, out string) error {
	cfg, err := serverConfig()
	if err != nil {
		return err
	}
	l, err := s2n.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	var accepted, failed atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				if c.(*s2n.Conn).Handshake() != nil {
					failed.Add(1)
				}
				c.Close()
			}()
		}
	}()
	cmd := exec.Command(os.Args[0], "-gen", l.Addr().String(), "-rate", strconv.Itoa(rate), "-for", dur.String())
	cmd.Stderr = os.Stderr
	genOut, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	start := time.Now()
	var samples []sample
	take := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		st := s2n.Stats()
		samples = append(samples, sample{
			at: time.Since(start).Round(time.Second), accepted: accepted.Load(), failed: failed.Load(),
			held: st.Blinding, evicted: st.BlindingEvicted, fds: countFDs(), rssKiB: rssKiB(),
			heapKiB: int64(m.HeapAlloc) / 1024, cKiB: st.CBytes / 1024,
			goroutines: runtime.NumGoroutine(), threads: threads(),
		})
	}
	take()
	for t := time.NewTicker(every); time.Since(start) < dur+every/2; {
		<-t.C
		take()
	}
	line, _ := bufio.NewReader(genOut).ReadString('\n')
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	return report(out, rate, dur, strings.TrimSpace(line), samples)
}

func report(out string, rate int, dur time.Duration, gen string, samples []sample) error {
	var b strings.Builder
	var rl syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	last := samples[len(samples)-1]
	fmt.Fprintf(&b, "# Failing handshakes under load: what blinding costs a server\n\n")
	fmt.Fprintf(&b, "Written by `make blinding-load` (`go run ./bench/blindload -rate %d -for %v`) on %s, %d CPUs, GOMAXPROCS %d, RLIMIT_NOFILE %d, s2n's default blinding delay (10-30 s) and the default SetMaxBlindedConns bound (half of RLIMIT_NOFILE).\n\n",
		rate, dur, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOMAXPROCS(0), rl.Cur)
	fmt.Fprintf(&b, "Generator (another process): %s.\n\n", gen)
	fmt.Fprintf(&b, "| t | accepted | failed handshakes | held for blinding | released early | open fds | RSS MiB | Go heap MiB | s2n C KiB | goroutines | threads |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	maxHeld, maxRSS, maxFDs := int64(0), int64(0), 0
	for _, s := range samples {
		fmt.Fprintf(&b, "| %v | %d | %d | %d | %d | %d | %.1f | %.1f | %d | %d | %d |\n", s.at, s.accepted, s.failed, s.held, s.evicted,
			s.fds, float64(s.rssKiB)/1024, float64(s.heapKiB)/1024, s.cKiB, s.goroutines, s.threads)
		maxHeld, maxRSS, maxFDs = max(maxHeld, s.held), max(maxRSS, s.rssKiB), max(maxFDs, s.fds)
	}
	fmt.Fprintf(&b, "\nOver %v: %d connections accepted (%.0f/s), %d failed handshakes; at most %d transports held at once, %d released early; peak %d open descriptors of %d allowed, peak RSS %.1f MiB.",
		dur, last.accepted, float64(last.accepted)/dur.Seconds(), last.failed, maxHeld, last.evicted, maxFDs, rl.Cur, float64(maxRSS)/1024)
	if maxHeld > 0 {
		base := samples[0]
		fmt.Fprintf(&b, " Memory per held transport at the peak (RSS above the start, over those held): %.1f KiB; s2n's C memory then: %d KiB in all.\n",
			float64(maxRSS-base.rssKiB)/float64(maxHeld), last.cKiB)
	}
	if out == "" {
		_, err := os.Stdout.WriteString(b.String())
		return err
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

func countFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

func rssKiB() int64 {
	b, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()) / 1024
}

func threads() int {
	ents, _ := os.ReadDir("/proc/self/task")
	return len(ents)
}

// serverConfig is a Config with a fresh self-signed ECDSA certificate.
func serverConfig() (*s2n.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cfg, err := s2n.NewConfig()
	if err != nil {
		return nil, err
	}
	if err := cfg.AddCertChainWithSigner(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key); err != nil {
		return nil, err
	}
	return cfg, nil
}
