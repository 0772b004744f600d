package s2n

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestErrorSource: an s2n failure carries the file and line s2n raised it
// at (s2n_strerror_source), read inside the failing call, and that place is
// the one Debug names; errors that are not failures of s2n carry none.
func TestErrorSource(t *testing.T) {
	cfg := newTestConfig(t, configOpts{})
	err := cfg.SetCipherPreferences("no-such-policy")
	requireS2nError(t, err, "S2N_ERR_INVALID_SECURITY_POLICY", ErrUsage)
	var se *Error
	require.True(t, errors.As(err, &se))
	require.Regexp(t, regexp.MustCompile(`^s2n_[a-z0-9_]+\.c:[0-9]+$`), se.Source)
	require.True(t, strings.HasSuffix(se.Debug, "/"+se.Source) || strings.HasSuffix(se.Debug, " "+se.Source),
		"Debug %q names the place Source %q names", se.Debug, se.Source)

	// A second, different failure is read afresh, not left over.
	ck, err := NewCertChainAndKey([]byte("not a PEM"), []byte("not a key"))
	require.Nil(t, ck)
	require.True(t, errors.As(err, &se))
	require.Regexp(t, regexp.MustCompile(`^s2n_[a-z0-9_]+\.c:[0-9]+$`), se.Source)
	require.NotContains(t, se.Source, "security_policies", "the source of the first failure is not reused")
	t.Logf("%s: %s", se.Name, se.Source)

	// The binding's own usage errors come from no s2n source.
	err = cfg.SetProtocolPreferences([]string{""})
	require.True(t, errors.As(err, &se))
	require.Equal(t, nameInvalidArg, se.Name)
	require.Empty(t, se.Source)

	// Blocking is no failure: its source is not read.
	p := newPair(t, newTestConfig(t, configOpts{}), newTestConfig(t, configOpts{}))
	_, err = p.server.Negotiate()
	require.ErrorIs(t, err, ErrBlocked)
	require.True(t, errors.As(err, &se))
	require.Empty(t, se.Source)
}
