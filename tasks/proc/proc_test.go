package proc

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/term"
)

func TestTailKeepsOnlyTheEnd(t *testing.T) {
	var tail Tail
	for i := 0; i < 10000; i++ {
		_, _ = tail.Write([]byte("line\n"))
	}
	_, _ = tail.Write([]byte("the reason\n\n"))
	assert.LessOrEqual(t, len(tail.String()), tailSize)
	assert.Equal(t, "the reason", tail.LastLine())

	var big Tail
	n, err := big.Write([]byte(strings.Repeat("x", 3*tailSize) + "\nend"))
	require.NoError(t, err)
	assert.Equal(t, 3*tailSize+4, n, "a writer reports every byte taken")
	assert.Equal(t, "end", big.LastLine())
}

func TestCauseIsTheErrorLineNotTheSummary(t *testing.T) {
	tests := []struct{ name, out, want string }{
		{"compose v1, summary without prefix", "ERROR: for db  Cannot start service db: port is already allocated\nEncountered errors while bringing up the project.\n",
			"ERROR: for db  Cannot start service db: port is already allocated"},
		{"compose v2", " Container x-db-1  Starting\nError response from daemon: driver failed: port is already allocated\n",
			"Error response from daemon: driver failed: port is already allocated"},
		{"no error line", "working\nno space left on device\n", "no space left on device"},
		{"nothing", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tail Tail
			_, _ = tail.Write([]byte(tt.out))
			assert.Equal(t, tt.want, tail.Cause())
		})
	}
}

func TestRunReportsWhyACommandFailed(t *testing.T) {
	var buf bytes.Buffer
	out := term.New(&buf, term.WithVerbose(false))
	err := Run(t.Context(), out, "sh", "-c", "echo working; echo 'no space left on device' >&2; exit 3")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit status 3")
	assert.Contains(t, err.Error(), "no space left on device")
	assert.Empty(t, buf.String(), "quiet without -v")

	require.NoError(t, Run(t.Context(), term.New(&buf, term.WithVerbose(true)), "sh", "-c", "echo visible"))
	assert.Contains(t, buf.String(), "$ sh -c echo visible\nvisible\n")
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Run(ctx, term.New(&bytes.Buffer{}), "sleep", "30")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}
