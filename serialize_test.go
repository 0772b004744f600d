package s2n

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// serializeHelperEnv makes TestMain run serializeHelper instead of the
// tests; its value is the cipher policy of the helper's Config.
const serializeHelperEnv = "S2N_GO_SERIALIZE_HELPER"

// TestSerializeHandOver hands a live server connection to another process:
// after a handshake and data both ways, this process serializes the server
// side and sends the blob with the socket (SCM_RIGHTS over a Unix socket)
// to the test binary re-executed as a helper, which deserializes it and
// goes on: it reads the client's next message, answers it and closes with
// close_notify, all on the keys and sequence numbers of the first
// handshake. The client, in this process, never sees a new handshake.
func TestSerializeHandOver(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, tc := range []struct {
		policy  string
		version ProtocolVersion
	}{{"default_tls13", TLS13}, {policyTLS12, TLS12}} {
		t.Run(tc.version.String(), func(t *testing.T) {
			server := newTestConfig(t, configOpts{policy: tc.policy, chain: ec})
			require.NoError(t, server.SetSerializationVersion(SerializationV1))
			p := newPair(t, server, clientConfig(t, tc.policy, ec))

			_, err := p.server.Serialize()
			requireS2nError(t, err, "S2N_ERR_HANDSHAKE_NOT_COMPLETE")
			p.handshake(t)
			require.Equal(t, tc.version, p.server.ProtocolVersion())
			p.exchange(t)

			n, err := p.server.SerializationLength()
			require.NoError(t, err)
			blob, err := p.server.Serialize()
			require.NoError(t, err)
			require.Len(t, blob, n)
			// The serialized connection is spent: it sends nothing more.
			_, _, err = p.server.Send([]byte("x"))
			require.Error(t, err)
			require.False(t, errors.Is(err, ErrBlocked), "%v", err)
			require.NoError(t, p.server.Close())

			ctl, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
			require.NoError(t, err)
			parentEnd := os.NewFile(uintptr(ctl[0]), "ctl")
			childEnd := os.NewFile(uintptr(ctl[1]), "ctl-child")
			defer parentEnd.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), serializeHelperEnv+"="+tc.policy)
			cmd.ExtraFiles = []*os.File{childEnd} // fd 3
			var stderr strings.Builder
			cmd.Stdout = &stderr
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			childEnd.Close()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
			}()
			require.NoError(t, syscall.Sendmsg(ctl[0], blob, syscall.UnixRights(p.fds[0]), nil, 0))

			// The client goes on as before: a message to the new process,
			// its answer, and a clean close.
			sendAll(t, p.client, []byte("ping across the hand-over"))
			require.Equal(t, "pong: ping across the hand-over", string(recvN(t, p.client, len("pong: ping across the hand-over"))))
			buf := make([]byte, 16)
			for deadline := time.Now().Add(10 * time.Second); ; {
				require.True(t, time.Now().Before(deadline), "no close_notify from the helper")
				n, _, err := p.client.Recv(buf)
				if err == nil {
					require.Zero(t, n, "close_notify expected")
					break
				}
				require.ErrorIs(t, err, ErrBlocked)
				time.Sleep(100 * time.Microsecond)
			}
			_, err = p.client.ShutdownSend()
			require.NoError(t, err)
			err = await(t, exited, "the helper process")
			require.NoError(t, err, "helper:\n%s", stderr.String())
			require.Contains(t, stderr.String(), "helper: deserialized "+tc.version.String())
		})
	}
}

// TestSerializeErrors: serializing needs a version on the Config, and a
// deserialized blob must parse.
func TestSerializeErrors(t *testing.T) {
	ec, _, _ := testKeys(t)
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), clientConfig(t, "default_tls13", ec))
	p.handshake(t)
	_, err := p.server.Serialize()
	requireS2nError(t, err, "S2N_ERR_INVALID_STATE")

	c, err := NewConnection(ModeServer)
	require.NoError(t, err)
	defer c.Close()
	requireS2nError(t, c.Deserialize([]byte("not a serialized connection")), "S2N_ERR_INVALID_SERIALIZED_CONNECTION")
	requireS2nError(t, c.Deserialize(nil), nameInvalidArg, ErrUsage)
	cfg := newTestConfig(t, configOpts{})
	requireS2nError(t, cfg.SetSerializationVersion(7), nameInvalidArg, ErrUsage)
}

// sendAll sends b on c, a non-blocking Connection.
func sendAll(t *testing.T, c *Connection, b []byte) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(b) > 0; {
		require.True(t, time.Now().Before(deadline), "send timed out")
		n, _, err := c.Send(b)
		b = b[n:]
		if err != nil {
			require.ErrorIs(t, err, ErrBlocked)
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// serializeHelper is the process TestSerializeHandOver hands its server
// connection to: it receives the serialized connection and the socket on
// fd 3, deserializes, answers one message and closes.
func serializeHelper() int {
	run := runSerializeHelper
	policy := os.Getenv(serializeHelperEnv)
	if p, ok := strings.CutPrefix(policy, connHelperPrefix); ok {
		run, policy = runConnSerializeHelper, p
	}
	if err := run(policy); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

func runSerializeHelper(policy string) error {
	blob := make([]byte, 1<<16)
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := syscall.Recvmsg(3, blob, oob, 0)
	if err != nil {
		return fmt.Errorf("recvmsg: %w", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("control messages %d: %v", len(msgs), err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("rights %v: %v", fds, err)
	}
	fd := fds[0]
	defer syscall.Close(fd)
	if err := syscall.SetNonblock(fd, false); err != nil {
		return err
	}
	cfg, err := NewConfig()
	if err != nil {
		return err
	}
	defer cfg.Close()
	if err := cfg.SetCipherPreferences(policy); err != nil {
		return err
	}
	if err := cfg.SetSerializationVersion(SerializationV1); err != nil {
		return err
	}
	c, err := NewConnection(ModeServer)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetConfig(cfg); err != nil {
		return err
	}
	if err := c.SetBlinding(SelfServiceBlinding); err != nil {
		return err
	}
	if err := c.Deserialize(blob[:n]); err != nil {
		return fmt.Errorf("deserialize: %w", err)
	}
	if err := c.SetFd(fd); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "helper: deserialized %v\n", c.ProtocolVersion())
	buf := make([]byte, 256)
	got, _, err := c.Recv(buf)
	if err != nil {
		return fmt.Errorf("recv: %w", err)
	}
	reply := append([]byte("pong: "), buf[:got]...)
	for len(reply) > 0 {
		k, _, err := c.Send(reply)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		reply = reply[k:]
	}
	if _, err := c.Shutdown(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
