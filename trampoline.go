//go:build cgo

package s2n

// What every trampoline of callbacks.go does around the application's
// function, so that each new kind of callback gets the same rules.

// runCallback runs fn as a callback of connection s, on the OS thread tid
// that s2n called back on (the goroutine stays locked to it for the call):
//
//   - calls fn makes on s are recognised as coming from inside its callback
//     (see connState.lock), so they neither deadlock nor race the driving
//     call that holds the lock;
//   - a Conn handshake gives back its gate slot first: a callback may block;
//   - an error or a panic of fn is recorded as the driving call's error
//     (the first one wins) and returned, for the trampoline to fail s2n's
//     call; a panic never unwinds into C;
//   - runtime.Goexit (t.FailNow in a test helper, for one) cannot be
//     stopped: it unwinds the goroutine through s2n's C frames, so the
//     driving call never returns. The connection is then marked broken and
//     its lock released: other goroutines go on, later calls fail with a
//     clear error, and Close frees it.
func (s *connState) runCallback(tid uintptr, fn func() error) (err error) {
	if cgoCounting {
		callbacksIn.Add(1)
	}
	if s.gated {
		s.gated = false
		handshakeGate.release()
	}
	s.cbThread.Store(tid)
	returned := false
	defer func() {
		s.cbThread.Store(0)
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		} else if !returned {
			s.abandon()
			return
		}
		if err != nil && s.cbErr == nil {
			s.cbErr = err
		}
	}()
	err = fn()
	returned = true
	return err
}

// nameAbandoned: a callback ended its goroutine inside s2n.
const nameAbandoned = "S2N_GO_ERR_ABANDONED"

// abandon leaves the connection usable for Close only, after a callback's
// runtime.Goexit abandoned the driving call, which holds mu.
func (s *connState) abandon() {
	s.broken = usageError(nameAbandoned, "a callback of this connection ended its goroutine (runtime.Goexit) inside s2n: only Close is left")
	s.driver = nil
	s.cbErr = nil
	if s.closeInCallback {
		s.closeLocked()
	}
	s.mu.Unlock()
}
