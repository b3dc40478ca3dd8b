// Package crontest is what tests of real cron schedules share: a cron
// daemon (started for the test when none runs) and the user's crontab,
// read, written, and put back byte for byte when the test ends.
package crontest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Require skips (fails under CI=true) a test on a machine without cron,
// waits for any other test of the crontab (another package's, run in
// parallel), makes sure a daemon runs, and keeps the user's crontab to put
// back afterwards. Lines of the test's own jobs (markers such as
// "# stevedore:project:name") that a killed earlier run left are removed
// first. died reports the exit of a daemon it started.
func Require(t *testing.T, ownMarkers ...string) (crontab string, died <-chan error) {
	t.Helper()
	if _, err := exec.LookPath("crontab"); err != nil {
		tcenv.Unavailable(t, "crontab not found: install cron (Debian: apt-get install cron)")
	}
	lockCrontab(t)
	died = EnsureDaemon(t)
	original, had := Read(t)
	if kept := withoutLines(original, ownMarkers); kept != original {
		Write(t, kept)
		original = kept
	}
	t.Cleanup(func() { restore(t, original, had) })
	return original, died
}

// lockCrontab holds a lock every crontab test takes, for the test's run.
func lockCrontab(t *testing.T) {
	t.Helper()
	dir, err := os.UserCacheDir()
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "stevedore"), 0o755))
	l := flock.New(filepath.Join(dir, "stevedore", "crontest.lock"))
	ok, err := l.TryLockContext(t.Context(), 100*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	t.Cleanup(func() { _ = l.Unlock() })
}

// withoutLines is crontab without the lines holding any of markers.
func withoutLines(crontab string, markers []string) string {
	var kept []string
	for _, line := range strings.SplitAfter(crontab, "\n") {
		mine := false
		for _, m := range markers {
			mine = mine || strings.Contains(line, m)
		}
		if !mine {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// EnsureDaemon starts `cron -f` for the test unless a cron daemon runs,
// and returns what reports its exit (nothing when one was running already).
func EnsureDaemon(t *testing.T) <-chan error {
	t.Helper()
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, comm := range comms {
		if name, err := os.ReadFile(comm); err == nil && (string(name) == "cron\n" || string(name) == "crond\n") {
			return nil
		}
	}
	if _, err := exec.LookPath("cron"); err != nil {
		tcenv.Unavailable(t, "no cron daemon runs, and there is no cron program to start one: install cron (Debian: apt-get install cron)")
	}
	var output bytes.Buffer
	daemon := exec.Command("cron", "-f")
	daemon.Stdout, daemon.Stderr = &output, &output
	if err := daemon.Start(); err != nil {
		tcenv.Unavailable(t, "starting cron -f: %v", err)
	}
	// Debian's cron notices a new crontab by the spool folder's mtime, in
	// whole seconds: one written in the second the daemon read the folder
	// at its start is never seen. Nothing says when it has read it, so the
	// test's crontab waits for the seconds after it.
	time.Sleep(2 * time.Second)
	died := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		err := daemon.Wait()
		died <- err
		close(exited)
	}()
	t.Cleanup(func() {
		_ = daemon.Process.Kill() // it may have exited already; Wait below tells
		<-exited
		if t.Failed() {
			t.Logf("cron -f said: %s", output.String())
		}
	})
	return died
}

// Read reads this user's crontab without the package under test.
func Read(t *testing.T) (string, bool) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("crontab", "-l") // also from Cleanup, after the test's context ended
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		require.Contains(t, stderr.String(), "no crontab for", "crontab -l: %v", err)
		return "", false
	}
	return stdout.String(), true
}

func Write(t *testing.T, crontab string) {
	t.Helper()
	cmd := exec.Command("crontab", "-")
	cmd.Stdin = strings.NewReader(crontab)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "crontab -: %s", out)
}

func restore(t *testing.T, original string, hadCrontab bool) {
	if hadCrontab {
		Write(t, original)
	} else if out, err := exec.Command("crontab", "-r").CombinedOutput(); err != nil {
		t.Errorf("crontab -r: %v: %s", err, out)
	}
	now, has := Read(t)
	assert.Equal(t, hadCrontab, has, "the user had a crontab before the test")
	assert.Equal(t, original, now, "the user's crontab is back byte for byte")
}
