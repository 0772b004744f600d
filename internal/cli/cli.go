// Package cli holds what the s2nd and s2nc commands share: getopt-style flag
// parsing with one-line errors, loading a certificate and its key (from
// files, from a PKCS#11 token, or made up at start) with the key optionally
// offloaded, trust settings, and printing a connection's parameters.
//
// Both commands write s2n-tls's tools' status lines (status.go) and the
// application data to stdout, as those tools do, errors to stderr, and
// their own summary lines to stderr with -v. Exit status: 0 success, 1
// runtime failure (a failed handshake too), 2 command-line mistake.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is a command-line mistake (exit status 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Printed is an error whose message the command has already written (in
// the words of s2n-tls's tools): Report only returns ExitFailure for it.
type Printed struct{ Err error }

func (e *Printed) Error() string { return e.Err.Error() }
func (e *Printed) Unwrap() error { return e.Err }

// Report prints err on one line as "name: err" and returns the exit status
// for it. flag.ErrHelp (help was asked for and printed) is success.
func Report(stderr io.Writer, name string, err error) int {
	var ue *UsageError
	var printed *Printed
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &printed):
		return ExitFailure
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s (see %s -h)\n", name, oneLine(ue.Msg), name)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err.Error()))
		return ExitFailure
	}
}

// oneLine keeps an error on one line: some s2n debug strings carry newlines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// FlagSet is a flag.FlagSet that prints nothing itself: errors come back
// from ParseArgs, to be reported on one line, and the usage text is printed
// for -h only.
type FlagSet struct {
	*flag.FlagSet
	usage    string
	stdout   io.Writer
	optional map[string]bool // one-letter flags whose argument is optional
}

// NewFlagSet returns a FlagSet whose -h prints usage to stdout.
func NewFlagSet(name, usage string, stdout io.Writer) *FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // flag calls it on every error, not only for -h
	return &FlagSet{FlagSet: fs, usage: usage, stdout: stdout}
}

// Alias registers more names for the flag called name, as s2n-tls's
// utilities accept both -c and --ciphers.
func Alias(fs *flag.FlagSet, name string, aliases ...string) {
	f := fs.Lookup(name)
	for _, a := range aliases {
		fs.Var(f.Value, a, "alias for -"+name)
	}
}

// ParseArgs parses args, allowing flags after positional arguments (as
// getopt does: "s2nc localhost 8443 -i"); "--" ends the flags. It returns
// the positional arguments. A flag error comes back as a *UsageError; -h
// prints the usage text and returns flag.ErrHelp.
func (fs *FlagSet) ParseArgs(args []string) ([]string, error) {
	args = fs.attachOptional(args)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				io.WriteString(fs.stdout, fs.usage)
				return nil, err
			}
			return nil, &UsageError{Msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// fs.Parse consumed a "--" if the argument before rest is one.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// Port parses a TCP port number.
func Port(s string) (string, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return "", Usagef("invalid port %q", s)
	}
	return strconv.Itoa(int(n)), nil
}

// ReadFile reads the file named by a flag; the error names the flag.
func ReadFile(flagName, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return b, nil
}

// SyncWriter serializes writes from several goroutines, so that lines from
// concurrent connections do not interleave.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter wraps w.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Printf writes one formatted line.
func (s *SyncWriter) Printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format+"\n", args...)
}

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// OptionalInt registers an integer flag whose argument is optional, as
// getopt's optional_argument: "-X" and "--name" alone set ifAlone, "-X5",
// "-X=5" and "--name=5" set 5, and in "-X 5" the 5 is not the flag's (a
// positional argument follows a flag given alone). short is the one-letter
// alias.
func (fs *FlagSet) OptionalInt(p *int, name, short string, ifAlone int, usage string) {
	v := &optionalInt{p: p, ifAlone: ifAlone}
	fs.Var(v, name, usage)
	if short != "" {
		fs.Var(v, short, "alias for -"+name)
		if fs.optional == nil {
			fs.optional = map[string]bool{}
		}
		fs.optional[short] = true
	}
}

// attachOptional rewrites "-X5" as "-X=5" for the one-letter flags with an
// optional argument: getopt reads the rest of the word as the argument.
func (fs *FlagSet) attachOptional(args []string) []string {
	if len(fs.optional) == 0 {
		return args
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && fs.optional[a[1:2]] && a[2] != '=' {
			a = a[:2] + "=" + a[2:]
		}
		out = append(out, a)
	}
	return out
}

// optionalInt is the flag.Value of OptionalInt: a bool flag for the flag
// package, so that it may be given alone.
type optionalInt struct {
	p       *int
	ifAlone int
}

func (o *optionalInt) IsBoolFlag() bool { return true }

func (o *optionalInt) String() string {
	if o == nil || o.p == nil {
		return ""
	}
	return strconv.Itoa(*o.p)
}

func (o *optionalInt) Set(s string) error {
	if s == "true" { // given alone
		*o.p = o.ifAlone
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	*o.p = n
	return nil
}
