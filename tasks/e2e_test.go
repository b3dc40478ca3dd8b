package tasks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

// The targets as users run them: this repository's magefile compiled once
// with `go tool mage -compile`, then run as a separate process per call.
// The tests' binary is built with the race detector, so that it watches the
// targets' own goroutines too. What is timed (the bench, and the tests'
// "under a second" claims) runs the binary as users get it: the detector
// slows a program several times.
type targetsBuild struct {
	race bool
	once sync.Once
	bin  string
	err  error
}

var (
	withRace  = &targetsBuild{race: true}
	asShipped = &targetsBuild{}
)

// path compiles the binary the first time it is asked for.
func (b *targetsBuild) path(t *testing.T) string {
	t.Helper()
	b.once.Do(func() { b.bin, b.err = compileTargets(t.Context(), b.race) })
	require.NoError(t, b.err, "compile the targets")
	return b.bin
}

func checkoutRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(self))
}

func targetsBinary(t *testing.T) string {
	t.Helper()
	if benchmarking() {
		return asShipped.path(t)
	}
	return withRace.path(t)
}

// compileTargets compiles the magefile into a temporary folder; with race,
// `go build -race` (through GOFLAGS: mage has no flag for it).
func compileTargets(ctx context.Context, race bool) (string, error) {
	dir, err := os.MkdirTemp("", "stevedore-targets-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "stevedore")
	cmd := exec.CommandContext(ctx, "go", "tool", "mage", "-compile", bin)
	cmd.Dir = checkoutRoot()
	if race {
		goflags, err := exec.CommandContext(ctx, "go", "env", "GOFLAGS").Output()
		if err != nil {
			return "", fmt.Errorf("go env GOFLAGS: %w", err)
		}
		cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(string(goflags)+" -race"))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(string(out) + err.Error())
	}
	return bin, nil
}

// raceReport is what a binary built with -race prints when it sees one.
const raceReport = "WARNING: DATA RACE"

// run is one finished run of a target.
type run struct {
	Out  string // stdout and stderr
	Code int
	Took time.Duration
}

// target prepares a run of the compiled targets with env added.
func target(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	return command(t, targetsBinary(t), env, args...)
}

// runTimed runs the targets as users get them, for a run whose time is
// asserted.
func runTimed(t *testing.T, env []string, args ...string) run {
	t.Helper()
	return finish(t, command(t, asShipped.path(t), env, args...))
}

// command prepares a run of bin with env added.
func command(t *testing.T, bin string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
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
	assert.NotContains(t, r.Out, raceReport, "the targets raced")
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
