package main

import (
	"context"
	"io"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/s2n-go/s2n/internal/clitest"
	"github.com/stretchr/testify/require"
)

// peer is a command serving s2nc's tests (openssl s_server, s2nd), its
// stdin held open and its output (stdout and stderr) captured.
type peer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *clitest.Output
	exited chan struct{}
	err    error
}

// startPeer starts name with args; the test's cleanup ends it.
func startPeer(t *testing.T, name string, args ...string) *peer {
	t.Helper()
	p := &peer{cmd: exec.Command(name, args...), out: clitest.NewOutput(), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	var err error
	p.stdin, err = p.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// waitFor waits for a line of the peer's output matching re.
func (p *peer) waitFor(t *testing.T, re string) []string {
	t.Helper()
	return p.out.WaitFor(t, regexp.MustCompile(re), p.exited)
}

// send writes s to the peer's stdin.
func (p *peer) send(t *testing.T, s string) {
	t.Helper()
	_, err := io.WriteString(p.stdin, s)
	require.NoError(t, err)
}

// running is s2nc running in-process with its stdin a pipe the test
// writes to and its output captured.
type running struct {
	stdin       *io.PipeWriter
	out, errOut *clitest.Output
	exited      chan struct{}
	code        int
}

// startClient runs s2nc with args; the test's cleanup ends its stdin and
// waits for it.
func startClient(t *testing.T, args ...string) *running {
	t.Helper()
	r, w := io.Pipe()
	c := &running{stdin: w, out: clitest.NewOutput(), errOut: clitest.NewOutput(), exited: make(chan struct{})}
	go func() {
		defer close(c.exited)
		c.code = run(context.Background(), args, r, c.out, c.errOut)
		r.Close()
	}()
	t.Cleanup(func() {
		w.Close()
		<-c.exited
	})
	return c
}

func (c *running) waitFor(t *testing.T, re string) []string {
	t.Helper()
	return c.out.WaitFor(t, regexp.MustCompile(re), c.exited)
}

func (c *running) send(t *testing.T, s string) {
	t.Helper()
	_, err := io.WriteString(c.stdin, s)
	require.NoError(t, err)
}

// wait ends s2nc's stdin and returns its exit status.
func (c *running) wait(t *testing.T) int {
	t.Helper()
	c.stdin.Close()
	return c.exit(t)
}

// exit waits for s2nc to exit by itself and returns its exit status.
func (c *running) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-c.exited:
		return c.code
	case <-time.After(20 * time.Second):
		t.Fatalf("s2nc did not exit; stdout:\n%s\nstderr:\n%s", c.out, c.errOut)
		return -1
	}
}
