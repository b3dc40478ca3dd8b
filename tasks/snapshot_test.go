package tasks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
)

// snapshots lists the fixture's snapshots through db:snapshots -json.
func (f *dbFixture) snapshots(t *testing.T) []dbops.SnapshotEntry {
	t.Helper()
	r := f.run(t, "db:snapshots", "-json")
	require.Equal(t, 0, r.Code, r.Out)
	var l dbops.SnapshotListing
	require.NoError(t, json.Unmarshal([]byte(r.Out), &l), r.Out)
	return l.Snapshots
}

// kill -9 while a snapshot is copied, and while a rollback renames: the
// live database works and holds the old or the new data, and every listed
// snapshot is whole.
func TestKilledSnapshotAndRollbackLeaveAWorkingDatabase(t *testing.T) {
	f := newDBFixture(t, 400_000)
	original := f.state(t)

	t.Run("snapshot", func(t *testing.T) {
		s := untilLine(t, f.env, "copying database", "db:snapshot", "-name=killed")
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
		s.wait(t)
		assert.Equal(t, original, f.state(t), "the live database is untouched and answers")
		require.Eventually(t, func() bool { // a copy the server finishes after the kill is whole
			for _, sn := range f.snapshots(t) {
				if f.stateOf(t, sn.Database) != original {
					return false
				}
			}
			return true
		}, 30*time.Second, 200*time.Millisecond, "every listed snapshot is whole")
	})

	r := f.run(t, "db:snapshot", "-name=base")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "snapshot base of database")
	f.sql(t, `DELETE FROM item WHERE id % 2 = 0`)
	changed := f.state(t)

	t.Run("rollback inside its rename", func(t *testing.T) {
		var snap string
		for _, sn := range f.snapshots(t) {
			if sn.Name == "base" {
				snap = sn.Database
			}
		}
		require.NotEmpty(t, snap)
		// A session of the test holds a lock on the snapshot that the
		// rename waits for: the targets are killed inside the transaction.
		hold, err := f.pg.ConnectTo(t, "postgres").Begin(t.Context())
		require.NoError(t, err)
		_, err = hold.Exec(t.Context(), `COMMENT ON DATABASE "`+snap+`" IS 'held by the test'`)
		require.NoError(t, err)
		cmd := target(t, f.env, "db:rollback", "-to=base")
		require.NoError(t, cmd.Start())
		admin := f.pg.ConnectTo(t, "postgres")
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%RENAME TO%' AND wait_event_type = 'Lock'`).Scan(&n))
			return n > 0
		}, 60*time.Second, 20*time.Millisecond, "the rename waits for the lock")
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		require.NoError(t, hold.Rollback(t.Context()))
		require.Eventually(t, func() bool { return slices.Contains([]string{original, changed}, f.state(t)) }, 30*time.Second, 100*time.Millisecond)
		got := f.state(t)
		names := map[string]bool{}
		for _, sn := range f.snapshots(t) {
			names[sn.Name] = true
		}
		if got == original { // the rename committed: the snapshot is the live database now
			assert.False(t, names["base"], "a snapshot rolled back to is not listed any more")
			assert.True(t, names["before-rollback"], "the replaced state is kept")
		} else {
			assert.True(t, names["base"], "nothing committed: the snapshot is still there")
		}
	})

	t.Run("rollback and undo", func(t *testing.T) {
		f.sql(t, `DELETE FROM item WHERE id % 3 = 0`)
		require.Equal(t, 0, f.run(t, "db:snapshot", "-name=again").Code)
		before := f.state(t)
		f.sql(t, `DELETE FROM item WHERE id > 10`)
		after := f.state(t)
		r := f.run(t, "db:rollback")
		require.Equal(t, 0, r.Code, r.Out)
		assert.Contains(t, r.Out, "as at snapshot again")
		assert.Equal(t, before, f.state(t))
		r = f.run(t, "db:rollback", "-undo")
		require.Equal(t, 0, r.Code, r.Out)
		assert.Equal(t, after, f.state(t), "the rollback undone")
	})

	t.Run("pruned after each snapshot, as backups are", func(t *testing.T) {
		env := append(slices.Clone(f.env), "STEVEDORE_KEEP=2")
		var out string
		for i := range 3 {
			r := runTarget(t, env, "db:snapshot", fmt.Sprintf("-name=p%d", i))
			require.Equal(t, 0, r.Code, r.Out)
			out += r.Out
		}
		assert.Len(t, f.snapshots(t), 2, "the newest 2 kept")
		assert.Contains(t, out, "dropped snapshot")
	})

	t.Run("bad input", func(t *testing.T) {
		for args, want := range map[string]string{
			"db:rollback -to=nope":              "has no snapshot named nope",
			"db:snapshot -name=../x":            "may hold only letters",
			"db:rollback -undo -to=again":       "pass it without -to",
			"db:snapshot -name=20261124-101500": "is a time stamp",
		} {
			r := f.run(t, strings.Fields(args)...)
			assert.Equal(t, 1, r.Code, r.Out)
			assert.Contains(t, failureLine(t, r), want, args)
		}
	})
}

// A team's own migration command that changes the database and then
// fails: db:migrate rolls back on its own and says so.
func TestFailingMigrationIsRolledBackAutomatically(t *testing.T) {
	f := newStack(t, func(compose string) string {
		return strings.Replace(compose, "up: [/api, -migrate=up]",
			`up: [sh, -c, "psql -q -U app -d app -c 'CREATE TABLE half_done (x int); DELETE FROM items' && echo 'migration 3 broke' >&2 && exit 3"]`, 1)
	})
	f.useService(t, "db")
	f.up(t)
	code, _ := f.api(t, "POST", "/api/v1/items", `{"name":"kept","quantity":1}`)
	require.Equal(t, 201, code)
	before := f.psql(t, `SELECT string_agg(name, ',') || ' ' || count(*) FROM items`)

	r := f.run(t, "db:migrate")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, r.Out, "snapshot before-migrate")
	assert.Contains(t, failureLine(t, r), "failed")
	assert.Contains(t, failureLine(t, r), "rolled back, the database is as before it")
	assert.Contains(t, r.Out, "migration 3 broke", "the command's own words")
	assert.Equal(t, before, f.psql(t, `SELECT string_agg(name, ',') || ' ' || count(*) FROM items`))
	assert.Equal(t, "", f.psql(t, `SELECT to_regclass('half_done')`), "the half-done change is gone")
	assert.Contains(t, r.Out, "next: go tool mage db:rollback -undo")
}

// The bundled api's migrations go down and up through db:migrate, seeds
// through db:seed, and env:rollback brings the stack back healthy after a
// bad migration and after a broken settings file. A snapshot taken while
// the api serves requests ends its sessions and says so.
func TestSafeChangesAndEnvRollbackOnTheBundledStack(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	code, _ := f.api(t, "POST", "/api/v1/items", `{"name":"noted","quantity":2,"note":"keep me"}`)
	require.Equal(t, 201, code)

	t.Run("snapshot under load", func(t *testing.T) {
		var stop atomic.Bool
		var served, failed atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for !stop.Load() {
					if code, _ := f.api(t, "GET", "/api/v1/items", ""); code == 200 {
						served.Add(1)
					} else {
						failed.Add(1)
					}
				}
			})
		}
		time.Sleep(300 * time.Millisecond) // the api's pool holds sessions
		r := f.run(t, "db:snapshot", "-name=loaded")
		stop.Store(true)
		wg.Wait()
		require.Equal(t, 0, r.Code, r.Out)
		assert.Regexp(t, `\d+ sessions? of the application ended for the copy; new ones waited`, r.Out)
		t.Logf("requests during the snapshot: %d served, %d failed", served.Load(), failed.Load())
		code, _ := f.api(t, "GET", "/health", "")
		assert.Equal(t, 200, code)
	})

	t.Run("seed", func(t *testing.T) {
		r := f.run(t, "db:seed")
		require.Equal(t, 0, r.Code, r.Out)
		_, body := f.api(t, "GET", "/api/v1/items", "")
		assert.Contains(t, body, "crate")
	})

	t.Run("bad migration", func(t *testing.T) {
		r := f.run(t, "db:migrate", "-down")
		require.Equal(t, 0, r.Code, r.Out)
		code, body := f.api(t, "GET", "/health", "")
		require.Equal(t, 503, code, "the schema is behind the api: %s", body)
		assert.Equal(t, "", f.psql(t, `SELECT column_name FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'`), "the down migration dropped the notes")

		r = f.run(t, "env:rollback")
		require.Equal(t, 0, r.Code, r.Out)
		for i := 1; i <= 4; i++ {
			assert.Contains(t, r.Out, fmt.Sprintf("[%d/4]", i))
		}
		assert.Contains(t, r.Out, "as at snapshot before-migrate-down")
		code, _ = f.api(t, "GET", "/health", "")
		assert.Equal(t, 200, code)
		_, body = f.api(t, "GET", "/api/v1/items", "")
		assert.Contains(t, body, "keep me", "the notes are back")
	})

	t.Run("from the newest good backup", func(t *testing.T) {
		r := f.run(t, "db:backup", "-name=good")
		require.Equal(t, 0, r.Code, r.Out)
		code, _ := f.api(t, "DELETE", "/api/v1/items/1", "")
		require.Equal(t, 204, code)
		r = f.run(t, "env:rollback", "-backup")
		require.Equal(t, 0, r.Code, r.Out)
		assert.Contains(t, r.Out, "[3/4] roll the database back: the newest good backup")
		_, body := f.api(t, "GET", "/api/v1/items", "")
		assert.Contains(t, body, "keep me", "the deleted item is back")
	})

	t.Run("interrupted", func(t *testing.T) {
		require.Equal(t, 0, f.run(t, "db:snapshot", "-name=ctrlc").Code)
		s := untilLine(t, f.env, "[1/4]", "env:rollback", "-to=ctrlc")
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGINT))
		r := s.wait(t)
		if r.Code == 0 { // it finished before the signal landed: nothing to prove
			t.Skip("env:rollback ended before Ctrl-C reached it")
		}
		assert.Equal(t, 130, r.Code, r.Out)
		assert.Regexp(t, `rollback stopped at step [1-4]/4`, failureLine(t, r))
		assert.Regexp(t, `next: go tool mage env:(up|rollback)`, r.Out)
		f.up(t) // and the stack comes back
	})

	t.Run("broken settings file", func(t *testing.T) {
		envFile := filepath.Join(f.dir, "compose", ".env")
		good, err := os.ReadFile(envFile)
		require.NoError(t, err)
		broken := strings.Replace(string(good), fmt.Sprintf("API_PORT=%d", f.apiPort), "API_PORT=notaport", 1)
		require.NotEqual(t, string(good), broken)
		require.NoError(t, os.WriteFile(envFile, []byte(broken), 0o600))
		r := f.run(t, "env:up")
		require.Equal(t, 1, r.Code, r.Out)

		r = f.run(t, "env:rollback", "-to=loaded")
		require.Equal(t, 0, r.Code, r.Out)
		assert.Contains(t, r.Out, "is the one the last healthy env:up started from again")
		now, err := os.ReadFile(envFile)
		require.NoError(t, err)
		assert.Equal(t, string(good), string(now))
		kept, err := os.ReadFile(filepath.Join(f.dir, "state", "settings", "rolled-back.env"))
		require.NoError(t, err)
		assert.Equal(t, broken, string(kept), "the broken file is kept, not lost")
		st, err := os.Stat(filepath.Join(f.dir, "state", "settings", "rolled-back.env"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "it holds passwords")
		code, _ := f.api(t, "GET", "/health", "")
		assert.Equal(t, 200, code)
	})
}

// useService points the fixture's migration command at service (its
// x-stevedore block is the bundled one, edited).
func (f *stackFixture) useService(t *testing.T, service string) {
	t.Helper()
	path := filepath.Join(f.dir, "compose", "docker-compose.yml")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := strings.Replace(string(data), "  migrate:\n    service: api", "  migrate:\n    service: "+service, 1)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

// psql runs a query in the fixture's database container and returns its
// trimmed output.
func (f *stackFixture) psql(t *testing.T, sql string) string {
	t.Helper()
	out, err := f.compose(t.Context(), "exec", "-T", "db", "psql", "-X", "-q", "-A", "-t", "-U", "app", "-d", "app", "-c", sql).Output()
	require.NoError(t, err, sql)
	return strings.TrimSpace(string(out))
}
