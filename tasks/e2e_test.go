package tasks_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

// The targets as users run them: this repository's magefile compiled once
// with `go tool mage -compile`, then run as a separate process per call.
var (
	targetsOnce sync.Once
	targetsBin  string
	targetsErr  error
)

func checkoutRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(self))
}

func targetsBinary(t *testing.T) string {
	t.Helper()
	targetsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stevedore-targets-")
		if err != nil {
			targetsErr = err
			return
		}
		targetsBin = filepath.Join(dir, "stevedore")
		cmd := exec.Command("go", "tool", "mage", "-compile", targetsBin)
		cmd.Dir = checkoutRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			targetsErr = errors.New(string(out) + err.Error())
		}
	})
	require.NoError(t, targetsErr, "compile the targets")
	return targetsBin
}

// run is one finished run of a target.
type run struct {
	Out  string // stdout and stderr
	Code int
	Took time.Duration
}

// target prepares a run of the compiled targets with env added.
func target(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), targetsBinary(t), args...)
	// Run logs go to a folder of the test's, not into the checkout.
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "STEVEDORE_DB_CONTAINER=", "STEVEDORE_BACKUP_DIR=",
		"STEVEDORE_STATE_DIR="+t.TempDir()), env...)
	cmd.Stdin = nil
	return cmd
}

// runTarget runs the compiled targets to the end.
func runTarget(t *testing.T, env []string, args ...string) run {
	t.Helper()
	return finish(t, target(t, env, args...))
}

// finish runs cmd to the end.
func finish(t *testing.T, cmd *exec.Cmd) run {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := run{Out: out.String(), Took: time.Since(start)}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.Code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

// failureLine is the ✗ line of a failed run: the one line a user reads.
func failureLine(t *testing.T, r run) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(r.Out, "\n") {
		if strings.HasPrefix(l, "✗ ") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, "exactly one failure line in:\n%s", r.Out)
	return lines[0]
}

// containerName is the name the targets' -container flag takes.
func containerName(t *testing.T, pg *pgtest.Postgres) string {
	t.Helper()
	name, err := pg.Container.Name(t.Context())
	require.NoError(t, err)
	return strings.TrimPrefix(name, "/")
}
