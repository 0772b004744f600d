//go:build !asan

// Allocation counts do not hold under -asan, whose instrumentation
// allocates.

package s2n

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConnSteadyStateAllocations: once a connection is up, a 16 KiB Write
// and the Reads that receive it allocate nothing on the Go heap.
func TestConnSteadyStateAllocations(t *testing.T) {
	ec, _, _ := testKeys(t)
	const size = 16 << 10
	addr, served := serveResults(t, signerConfig(t, "default_tls13", ec, &faultySigner{key: ec.signer}), 1, func(c *Conn) error {
		_, err := io.Copy(c, c) // echo until the client closes
		return err
	})
	c, err := Dial("tcp", addr, clientConfig(t, "default_tls13", ec))
	require.NoError(t, err)
	msg := make([]byte, size)
	buf := make([]byte, size)
	roundTrip := func() {
		if _, err := c.Write(msg); err != nil {
			panic(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			panic(err)
		}
	}
	for range 10 {
		roundTrip() // warm up: buffers grow to their steady size
	}
	allocs := testing.AllocsPerRun(50, roundTrip)
	require.NoError(t, c.Close())
	require.NoError(t, <-served)
	require.Zero(t, allocs, "allocations per 16 KiB write+read")
}
