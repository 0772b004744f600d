package s2n

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// connHelperPrefix, before the policy in serializeHelperEnv, makes the
// re-executed test binary run runConnSerializeHelper.
const connHelperPrefix = "conn:"

// serializedConnPair is a client and a server Conn over TCP, both with
// Configs that allow serialization, their handshake done.
func serializedConnPair(t *testing.T, policy string) (client, server *Conn) {
	t.Helper()
	ec, _, _ := testKeys(t)
	scfg := newTestConfig(t, configOpts{policy: policy, chain: ec})
	require.NoError(t, scfg.SetSerializationVersion(SerializationV1))
	ccfg := clientConfig(t, policy, ec)
	require.NoError(t, ccfg.SetSerializationVersion(SerializationV1))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	client = Client(raw, ccfg, "localhost")
	t.Cleanup(func() { client.Close() })
	sraw := await(t, accepted, "accept")
	require.NotNil(t, sraw)
	server = Server(sraw, scfg)
	t.Cleanup(func() { server.Close() })
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	require.NoError(t, client.Handshake())
	require.NoError(t, await(t, done, "server handshake"))
	return client, server
}

// exchangeLine writes msg on a and reads it on b.
func exchangeLine(t *testing.T, a, b net.Conn, msg string) {
	t.Helper()
	_, err := a.Write([]byte(msg))
	require.NoError(t, err)
	got := make([]byte, len(msg))
	_, err = io.ReadFull(b, got)
	require.NoError(t, err)
	require.Equal(t, msg, string(got))
}

// TestConnSerializeInProcess: a client Conn is serialized and its
// transport handed to a Conn made by DeserializeConn in the same process;
// data flows both ways across the hand-over. The spent Conn fails, and a
// Conn with received data not yet read refuses to serialize.
func TestConnSerializeInProcess(t *testing.T) {
	for _, policy := range []string{"default_tls13", policyTLS12} {
		t.Run(policy, func(t *testing.T) {
			client, server := serializedConnPair(t, policy)
			exchangeLine(t, client, server, "before\n")
			exchangeLine(t, server, client, "before, answered\n")

			// Received and not yet read: Serialize refuses, the Conn goes on.
			_, err := server.Write([]byte("unread\n"))
			require.NoError(t, err)
			one := make([]byte, 1)
			_, err = client.Read(one) // reads one byte of the record: the rest stays in s2n
			require.NoError(t, err)
			_, _, err = client.Serialize()
			require.Error(t, err)
			rest := make([]byte, len("unread\n")-1)
			_, err = io.ReadFull(client, rest)
			require.NoError(t, err)
			require.Equal(t, "unread\n", string(one)+string(rest))

			state, transport, err := client.Serialize()
			require.NoError(t, err)
			require.NotEmpty(t, state)
			_, err = client.Write([]byte("x"))
			require.Error(t, err, "the serialized Conn is spent")
			require.NoError(t, client.Close())

			cfg := clientConfig(t, policy, nil)
			require.NoError(t, cfg.SetSerializationVersion(SerializationV1))
			resumed, err := DeserializeConn(transport, cfg, ModeClient, state)
			require.NoError(t, err)
			defer resumed.Close()
			require.True(t, resumed.HandshakeComplete())
			require.Equal(t, server.ConnectionState().CipherSuite, resumed.ConnectionState().CipherSuite)
			require.Equal(t, server.ConnectionState().Version, resumed.ConnectionState().Version)
			exchangeLine(t, resumed, server, "after the hand-over\n")
			exchangeLine(t, server, resumed, "after the hand-over, answered\n")
		})
	}
}

// TestConnSerializeHandOver hands a live server Conn to another process:
// after a handshake and data both ways, Serialize gives the state and the
// TCP connection, whose descriptor goes with the state over a Unix socket
// (SCM_RIGHTS) to the test binary re-executed as a helper; it rebuilds a
// Conn with net.FileConn and DeserializeConn, reads the client's next
// line, answers it and closes with close_notify. The client Conn, in this
// process, sees neither a new handshake nor a gap.
func TestConnSerializeHandOver(t *testing.T) {
	for _, policy := range []string{"default_tls13", policyTLS12} {
		t.Run(policy, func(t *testing.T) {
			client, server := serializedConnPair(t, policy)
			exchangeLine(t, client, server, "ping before\n")
			exchangeLine(t, server, client, "pong before\n")

			state, transport, err := server.Serialize()
			require.NoError(t, err)
			f, err := transport.(*net.TCPConn).File()
			require.NoError(t, err)
			transport.Close() // f is a copy of the descriptor
			defer f.Close()

			ctl, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
			require.NoError(t, err)
			parentEnd := os.NewFile(uintptr(ctl[0]), "ctl")
			childEnd := os.NewFile(uintptr(ctl[1]), "ctl-child")
			defer parentEnd.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), serializeHelperEnv+"="+connHelperPrefix+policy)
			cmd.ExtraFiles = []*os.File{childEnd} // fd 3
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
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
			require.NoError(t, syscall.Sendmsg(ctl[0], state, syscall.UnixRights(int(f.Fd())), nil, 0))
			f.Close() // the helper has its own copy now

			_, err = client.Write([]byte("ping across the hand-over\n"))
			require.NoError(t, err)
			reply, err := io.ReadAll(client) // to the helper's close_notify
			require.NoError(t, err)
			require.Equal(t, "pong: ping across the hand-over\n", string(reply))
			require.NoError(t, client.Close())
			require.NoError(t, await(t, exited, "the helper process"), "helper:\n%s", out.String())
			require.Contains(t, out.String(), "helper: deserialized Conn "+server.HandshakeInfo().Version.String())
		})
	}
}

// runConnSerializeHelper is the process TestConnSerializeHandOver hands its
// server Conn to.
func runConnSerializeHelper(policy string) error {
	state := make([]byte, 1<<16)
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := syscall.Recvmsg(3, state, oob, 0)
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
	f := os.NewFile(uintptr(fds[0]), "handed-over")
	transport, err := net.FileConn(f)
	f.Close()
	if err != nil {
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
	c, err := DeserializeConn(transport, cfg, ModeServer, state[:n])
	if err != nil {
		transport.Close()
		return fmt.Errorf("DeserializeConn: %w", err)
	}
	defer c.Close()
	fmt.Fprintf(os.Stderr, "helper: deserialized Conn %v\n", c.HandshakeInfo().Version)
	line, err := interopReadLine(c)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if _, err := c.Write([]byte("pong: " + line)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return c.Close()
}
