package tasks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/crontest"
)

// TestScheduleInstallTakesBackupsThroughCron installs the backup schedule
// into the real crontab with schedule:install, waits for the real cron
// daemon to run `go tool mage db:backup` from the checkout (with the
// installing shell's settings), then lists and removes it.
func TestScheduleInstallTakesBackupsThroughCron(t *testing.T) {
	crontab, cronDied := crontest.Require(t, "# stevedore:stevedore:e2e")
	f := newDBFixture(t, 300)
	state := t.TempDir()
	inCheckout := func(args ...string) run {
		cmd := target(t, append(f.env, "STEVEDORE_STATE_DIR="+state, "STEVEDORE_AGE_IDENTITY=AGE-SECRET-KEY-1NOTREALLY"), args...)
		cmd.Dir = checkoutRoot()
		return finish(t, cmd)
	}

	r := inCheckout("schedule:install", "-every=1m", "-name=e2e", "-with=cron")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "scheduled db:backup every 1m with cron")
	assert.Contains(t, r.Out, "the scheduled run will not have STEVEDORE_AGE_IDENTITY", "a dropped secret is said")
	installed, _ := crontest.Read(t)
	assert.True(t, strings.HasPrefix(installed, crontab), "the user's lines stay")
	assert.Contains(t, installed, "STEVEDORE_DB_CONTAINER='"+f.container+"'", "the installing shell's settings")
	assert.Contains(t, installed, "STEVEDORE_SCHEDULED='1'")
	assert.NotContains(t, installed, "AGE-SECRET-KEY", "never a secret in the crontab")

	r = inCheckout("schedule:list", "-with=cron")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "e2e")

	// cron starts it at the next minute; go tool mage compiles the magefile.
	deadline := time.After(3 * time.Minute)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(f.list(t)) == 0 {
		select {
		case <-tick.C:
		case err := <-cronDied:
			t.Fatalf("the cron daemon this test started exited: %v", err)
		case <-deadline:
			log, _ := os.ReadFile(filepath.Join(state, "schedule", "e2e.log"))
			t.Fatalf("no backup from the schedule within 3 minutes; its log:\n%s", log)
		}
	}
	log, err := os.ReadFile(filepath.Join(state, "schedule", "e2e.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "✓ backup backup_", "the scheduled run's output is in its log")

	r = inCheckout("schedule:remove", "-name=e2e", "-with=cron")
	require.Equal(t, 0, r.Code, r.Out)
	after, _ := crontest.Read(t)
	assert.Equal(t, crontab, after, "removed, the crontab is as it was")
	r = inCheckout("schedule:remove", "-name=e2e", "-with=cron")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "no schedule e2e")
}
