package cli

import (
	"os"
	"syscall"
)

// pollableStdin keeps the *os.File of PollableStdin reachable: its cleanup
// would close file descriptor 0.
var pollableStdin *os.File

// PollableStdin returns the process's standard input for the commands to
// forward. When it is a pipe or a socket, it is put in non-blocking mode
// and opened again as an *os.File that Go's network poller serves: a read
// that has to wait parks the goroutine instead of holding an OS thread in a
// blocking read(2), whose thread's P the runtime's sysmon hands to another
// thread when the read waits long (thread switches when a peer and stdin
// alternate). restore puts back the blocking mode; call it before the
// process exits, since the mode belongs to the open file description that
// the parent (a shell, a pipeline) shares. For anything else (a terminal, a
// regular file, /dev/null) it returns os.Stdin and a restore that does
// nothing.
func PollableStdin() (f *os.File, restore func()) {
	var st syscall.Stat_t
	if err := syscall.Fstat(0, &st); err != nil {
		return os.Stdin, func() {}
	}
	if kind := st.Mode & syscall.S_IFMT; kind != syscall.S_IFIFO && kind != syscall.S_IFSOCK {
		return os.Stdin, func() {}
	}
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin, func() {}
	}
	if pollableStdin == nil {
		pollableStdin = os.NewFile(0, "/dev/stdin")
	}
	return pollableStdin, func() { syscall.SetNonblock(0, false) }
}
