package bench

import (
	"io"
	"net"
	"sync"
	"time"
)

// memPipe is one direction of an in-memory, buffered byte stream: writes
// never block, reads wait for data. Unlike net.Pipe, a write completes
// without a reader (a close_notify sent to a peer that is not reading
// anymore does not wait), as with a socket's buffer.
type memPipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	off    int
	closed bool
}

func newMemPipe() *memPipe {
	p := &memPipe{}
	p.cond.L = &p.mu
	return p
}

func (p *memPipe) read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.off == len(p.buf) && !p.closed {
		p.cond.Wait()
	}
	if p.off == len(p.buf) {
		return 0, io.EOF
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	if p.off == len(p.buf) {
		p.buf, p.off = p.buf[:0], 0
	}
	return n, nil
}

func (p *memPipe) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, net.ErrClosed
	}
	p.buf = append(p.buf, b...)
	p.cond.Signal()
	return len(b), nil
}

func (p *memPipe) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// memConn is one end of a memPipe pair, as a net.Conn (deadlines are
// accepted and ignored: nothing here waits but a read for its peer).
type memConn struct {
	r, w *memPipe
	once sync.Once
}

// memConnPair returns the two ends of an in-memory connection.
func memConnPair() (net.Conn, net.Conn) {
	a, b := newMemPipe(), newMemPipe()
	return &memConn{r: a, w: b}, &memConn{r: b, w: a}
}

func (c *memConn) Read(b []byte) (int, error)  { return c.r.read(b) }
func (c *memConn) Write(b []byte) (int, error) { return c.w.write(b) }
func (c *memConn) Close() error {
	c.once.Do(func() {
		c.r.close()
		c.w.close()
	})
	return nil
}
func (c *memConn) LocalAddr() net.Addr                { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr               { return memAddr{} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }
