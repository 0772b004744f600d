package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stdinChild is the child side of TestPollableStdin: it reports on stdout,
// a line per step, what PollableStdin did with the stdin it was given.
func stdinChild() {
	f, restore := PollableStdin()
	fmt.Println("same:", f == os.Stdin, "nonblock:", stdinNonblock())
	if f == os.Stdin {
		restore()
		return
	}
	// Nothing has been written yet: a pollable file honours a deadline.
	f.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := f.Read(make([]byte, 1))
	fmt.Println("deadline:", errors.Is(err, os.ErrDeadlineExceeded))
	f.SetReadDeadline(time.Time{})
	b, err := io.ReadAll(f)
	fmt.Printf("read: %q %v\n", b, err)
	restore()
	fmt.Println("restored nonblock:", stdinNonblock())
}

func stdinNonblock() bool {
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, 0, syscall.F_GETFL, 0)
	return errno == 0 && flags&syscall.O_NONBLOCK != 0
}

func TestPollableStdin(t *testing.T) {
	if os.Getenv("S2N_GO_STDIN_CHILD") == "1" {
		stdinChild()
		os.Exit(0)
	}
	child := func(stdin *os.File) (*exec.Cmd, *bufio.Reader) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPollableStdin$")
		cmd.Env = append(os.Environ(), "S2N_GO_STDIN_CHILD=1")
		cmd.Stdin = stdin
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		return cmd, bufio.NewReader(out)
	}
	line := func(r *bufio.Reader) string {
		s, err := r.ReadString('\n')
		require.NoError(t, err)
		return s
	}

	t.Run("pipe", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		require.NoError(t, err)
		cmd, out := child(pr)
		pr.Close()
		require.Equal(t, "same: false nonblock: true\n", line(out))
		require.Equal(t, "deadline: true\n", line(out))
		_, err = pw.Write([]byte("hello\n"))
		require.NoError(t, err)
		pw.Close()
		require.Equal(t, "read: \"hello\\n\" <nil>\n", line(out))
		require.Equal(t, "restored nonblock: false\n", line(out))
		require.NoError(t, cmd.Wait())
	})
	t.Run("regular file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "in")
		require.NoError(t, os.WriteFile(path, []byte("x"), 0o600))
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		cmd, out := child(f)
		require.Equal(t, "same: true nonblock: false\n", line(out))
		require.NoError(t, cmd.Wait())
	})
}
