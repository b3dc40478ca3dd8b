package schedule

import (
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/crontest"
)

// cronFiresWithin is how long the real test waits: cron reads a changed
// crontab, and runs what is due, at the start of each minute.
const cronFiresWithin = 80 * time.Second

// TestCronRunsTheJobForReal installs a job in this user's real crontab and
// waits for the real cron daemon to run exactly what CronLine wrote:
// through its % handling, /bin/sh, the cd, the environment and the log
// redirection. The user's crontab is put back byte for byte afterwards.
func TestCronRunsTheJobForReal(t *testing.T) {
	original, cronDied := crontest.Require(t, "# stevedore:schedtest:crontest")
	ctx := t.Context()
	before := original + "MAILTO=\"\"\n# a comment of the user's\n0 5 * * * /bin/true # someone else's job\n"
	crontest.Write(t, before)

	dir := filepath.Join(t.TempDir(), "it's 100% a checkout")
	require.NoError(t, os.Mkdir(dir, 0o755))
	j := Job{
		Name:    "crontest",
		Project: "schedtest",
		Dir:     dir,
		Command: []string{"/bin/sh", "-c", `echo "ran at $(date +%s) with STEVEDORE_SCHEDULED=$STEVEDORE_SCHEDULED"; pwd > ran-in; echo on-stderr >&2`},
		Every:   mustInterval(t, "1m"),
		Log:     filepath.Join(dir, ".stevedore", "schedule-crontest.log"),
		Env:     map[string]string{"STEVEDORE_SCHEDULED": "1"},
	}
	cron, err := Detect(ctx, "cron")
	require.NoError(t, err)
	require.NoError(t, cron.Install(ctx, j))
	after, _ := crontest.Read(t)
	require.Equal(t, before+CronLine(j)+"\n", after, "the lines that were there stay as they were")

	ranIn := filepath.Join(dir, "ran-in")
	ran := func() bool {
		where, err := os.ReadFile(ranIn)
		logged, _ := os.ReadFile(j.Log)
		return err == nil && strings.TrimSpace(string(where)) == dir &&
			bytes.Contains(logged, []byte("with STEVEDORE_SCHEDULED=1\n")) && bytes.Contains(logged, []byte("on-stderr\n"))
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.After(cronFiresWithin)
	for !ran() {
		select {
		case <-tick.C:
		case err := <-cronDied:
			t.Fatalf("the cron daemon this test started exited: %v", err)
		case <-deadline:
			logged, _ := os.ReadFile(j.Log)
			t.Fatalf("cron did not run the job within %s; its log holds %q", cronFiresWithin, logged)
		}
	}
	logged, err := os.ReadFile(j.Log)
	require.NoError(t, err)
	assert.Regexp(t, `^ran at [0-9]+ with STEVEDORE_SCHEDULED=1\non-stderr\n`, string(logged), "date +%s got its %")

	me, err := user.Current()
	require.NoError(t, err)
	found, err := cron.List(ctx, j.Project)
	require.NoError(t, err)
	assert.Equal(t, []Installed{{Kind: "cron", Project: j.Project, Name: j.Name, Schedule: "* * * * *", Where: "crontab of " + me.Username}}, found)

	removed, err := cron.Remove(ctx, j.Project, j.Name)
	require.NoError(t, err)
	assert.True(t, removed)
	after, _ = crontest.Read(t)
	assert.Equal(t, before, after, "Remove leaves exactly what was there")
	found, err = cron.List(ctx, j.Project)
	require.NoError(t, err)
	assert.Empty(t, found)
	removed, err = cron.Remove(ctx, j.Project, j.Name)
	require.NoError(t, err)
	assert.False(t, removed)
}
