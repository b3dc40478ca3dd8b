package tasks_test

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// dbFixture is a PostgreSQL container with a table of data and a private
// backup folder, driven through the compiled targets.
type dbFixture struct {
	pg        *pgtest.Postgres
	container string
	dir       string
	env       []string
}

func newDBFixture(t *testing.T, rows int) *dbFixture {
	t.Helper()
	pg := pgtest.Start(t)
	f := &dbFixture{pg: pg, container: containerName(t, pg), dir: filepath.Join(t.TempDir(), "backups")}
	f.env = []string{"STEVEDORE_DB_CONTAINER=" + f.container, "STEVEDORE_BACKUP_DIR=" + f.dir}
	f.sql(t, fmt.Sprintf(`CREATE TABLE item (id int PRIMARY KEY, payload text);
		INSERT INTO item SELECT g, md5(g::text) || repeat('x', 60) FROM generate_series(1, %d) g`, rows))
	return f
}

func (f *dbFixture) sql(t *testing.T, sql string) {
	t.Helper()
	_, err := f.pg.Connect(t).Exec(t.Context(), sql)
	require.NoError(t, err)
}

// state is a fingerprint of the table: equal states mean untouched data.
func (f *dbFixture) state(t *testing.T) string {
	t.Helper()
	var s string
	require.NoError(t, f.pg.Connect(t).QueryRow(t.Context(),
		`SELECT count(*) || ' ' || md5(string_agg(id || payload, ',' ORDER BY id)) FROM item`).Scan(&s))
	return s
}

func (f *dbFixture) run(t *testing.T, args ...string) run {
	t.Helper()
	return runTarget(t, f.env, args...)
}

func (f *dbFixture) list(t *testing.T) []store.Entry {
	t.Helper()
	st, err := store.Open(f.dir)
	require.NoError(t, err)
	entries, err := st.List()
	require.NoError(t, err)
	return entries
}

func TestBackupReportsAndRestores(t *testing.T) {
	f := newDBFixture(t, 5000)
	before := f.state(t)
	r := f.run(t, "db:backup", "-name=before_change")
	require.Equal(t, 0, r.Code, r.Out)
	for _, want := range []string{"✓ backup before_change", "sha256", "1 table, 5000 rows", "go tool mage db:restore -name=before_change"} {
		assert.Contains(t, r.Out, want)
	}
	assert.NotContains(t, r.Out, f.pg.Password, "the password is never printed")

	r = f.run(t, "db:backup", "-name=before_change")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "exists already")

	f.sql(t, `DELETE FROM item WHERE id % 2 = 0`)
	changed := f.state(t)
	require.NotEqual(t, before, changed)
	r = f.run(t, "db:restore", "-name=before_change", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, before, f.state(t))
	assert.Contains(t, r.Out, "undo     go tool mage db:restore -undo")
	assert.Equal(t, []string{"before_change"}, names(f.list(t)), "the replaced database is kept on the server, not as a file")

	r = f.run(t, "db:restore", "-name=before_change", "-yes", "-safety")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "✓ safety backup pre-restore_")
	all := names(f.list(t))
	require.Len(t, all, 2, "a safety file when asked for: %v", all)
	assert.True(t, strings.HasPrefix(all[0], "pre-restore_"), all)

	r = f.run(t, "db:verify")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "verified")
}

// kill -9 at random moments of a backup, 20 times: nothing that db:list or
// db:restore would take is ever left, no sidecar container survives, and the
// next run cleans the leftovers and succeeds.
func TestKilledBackupsLeaveNothingBehind(t *testing.T) {
	const kills = 20
	f := newDBFixture(t, 400_000)
	// Every backup stays: a machine fast enough to finish ten of the runs
	// before their kill would otherwise see retention take the baseline.
	f.env = append(f.env, fmt.Sprintf("STEVEDORE_KEEP=%d", kills+2))
	r := f.run(t, "db:backup", "-name=baseline")
	require.Equal(t, 0, r.Code, r.Out)
	full := r.Took
	eng := pgtest.RequireDocker(t)

	completed := 0
	for i := 0; i < kills; i++ {
		cmd := target(t, f.env, "db:backup")
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rand.Int64N(int64(full) * 8 / 10))) // a random point of a backup's time
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()

		// Whatever db:list shows is a whole backup: a run killed after its
		// record was written finished its work.
		entries := f.list(t)
		for _, e := range entries {
			require.NoError(t, pgbackup.CheckSum(e), "kill %d left %s, which is not a whole backup", i, e.Name)
		}
		require.Contains(t, names(entries), "baseline")
		completed = len(entries) - 1
	}
	t.Logf("%d kills, %d of them after the backup had completed", kills, completed)
	// The next run removes what the killed ones left: partial files, and
	// sidecars still waiting for a reader that will never come.
	r = f.run(t, "db:backup", "-name=after_kills")
	require.Equal(t, 0, r.Code, r.Out)
	// A create request the daemon was still serving when its client was
	// killed can land after that run looked; the same sweep removes it.
	require.Eventually(t, func() bool {
		_, err := pgtarget.SweepOrphans(t.Context(), eng)
		require.NoError(t, err)
		list, err := eng.ContainerList(t.Context(), client.ContainerListOptions{
			All: true, Filters: make(client.Filters).Add("label", pgtarget.LabelSidecar),
		})
		require.NoError(t, err)
		return len(list.Items) == 0
	}, 20*time.Second, 200*time.Millisecond, "sidecar containers left")
	files, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	left := map[string]bool{}
	for _, d := range files {
		left[d.Name()] = true
	}
	for name := range left {
		switch {
		case name == ".stevedore.lock":
		case strings.HasSuffix(name, ".sql.zst"):
			assert.True(t, left[strings.TrimSuffix(name, ".sql.zst")+".json"], "%s has its record", name)
		case strings.HasSuffix(name, ".json"):
			assert.True(t, left[strings.TrimSuffix(name, ".json")+".sql.zst"], "%s has its data", name)
		default:
			t.Errorf("leftover %s", name)
		}
	}
	assert.True(t, left["after_kills.sql.zst"])
	r = f.run(t, "db:verify", "-name=after_kills")
	assert.Equal(t, 0, r.Code, r.Out)
}

// A single flipped byte anywhere is caught by verify and refused by restore,
// with the database untouched.
func TestFlippedByteIsCaughtAndRefused(t *testing.T) {
	f := newDBFixture(t, 3000)
	require.Equal(t, 0, f.run(t, "db:backup", "-name=good").Code)
	path := filepath.Join(f.dir, "good.sql.zst")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pos := rand.IntN(len(data))
	data[pos] ^= 1 << rand.IntN(8)
	require.NoError(t, os.WriteFile(path, data, 0o600))

	f.sql(t, `UPDATE item SET payload = 'changed since' WHERE id < 10`)
	before := f.state(t)

	r := f.run(t, "db:verify", "-name=good")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), "damaged", "byte %d", pos)
	assert.Contains(t, runTarget(t, f.env, "db:list").Out, "FAILED")

	r = f.run(t, "db:restore", "-name=good", "-yes")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), "damaged")
	assert.Contains(t, failureLine(t, r), "the database was not changed")
	assert.Equal(t, before, f.state(t), "database untouched")
}

// A restore that fails midway (an error after some tables are loaded)
// leaves the data as it was and no scratch database behind.
func TestFailedRestoreLeavesTheDatabaseAsItWas(t *testing.T) {
	f := newDBFixture(t, 3000)
	f.sql(t, `CREATE TABLE other (x int); INSERT INTO other VALUES (1)`)
	dump := pgDump(t, f)
	// After the first table's data, a statement that fails.
	cut := strings.Index(dump, "\\.\n") + 3
	broken := dump[:cut] + "\nSELECT 1/0;\n" + dump[cut:]
	require.NoError(t, os.MkdirAll(f.dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "broken.sql"), []byte(broken), 0o600))

	f.sql(t, `DELETE FROM item WHERE id > 100`)
	before := f.state(t)
	r := f.run(t, "db:restore", "-name=broken", "-yes")
	assert.Equal(t, 1, r.Code, r.Out)
	line := failureLine(t, r)
	assert.Contains(t, line, "division by zero")
	assert.Contains(t, line, "the database was not changed")
	assert.Equal(t, before, f.state(t))

	var scratch int
	require.NoError(t, f.pg.Connect(t).QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname LIKE '%stevedore%'`).Scan(&scratch))
	assert.Zero(t, scratch, "scratch database dropped")
}

// The old scripts' files (.sql, .sql.gz, .sql.zip) restore.
func TestOldScriptBackupsRestore(t *testing.T) {
	f := newDBFixture(t, 2000)
	want := f.state(t)
	dump := pgDump(t, f)
	require.NoError(t, os.MkdirAll(f.dir, 0o700))
	write := func(name string, fill func(*os.File)) {
		file, err := os.Create(filepath.Join(f.dir, name))
		require.NoError(t, err)
		fill(file)
		require.NoError(t, file.Close())
	}
	write("backup_20250101_000000.sql", func(w *os.File) { _, _ = w.WriteString(dump) })
	write("backup_20250102_000000.sql.gz", func(w *os.File) {
		gz := gzip.NewWriter(w)
		_, _ = gz.Write([]byte(dump))
		require.NoError(t, gz.Close())
	})
	write("backup_20250103_000000.sql.zip", func(w *os.File) {
		zw := zip.NewWriter(w)
		entry, err := zw.Create("backup_20250103_000000.sql")
		require.NoError(t, err)
		_, _ = entry.Write([]byte(dump))
		require.NoError(t, zw.Close())
	})
	for _, name := range []string{"backup_20250101_000000", "backup_20250102_000000", "backup_20250103_000000"} {
		t.Run(name, func(t *testing.T) {
			f.sql(t, `TRUNCATE item`)
			r := f.run(t, "db:restore", "-name="+name, "-yes")
			require.Equal(t, 0, r.Code, r.Out)
			assert.Equal(t, want, f.state(t))
		})
	}
}

// pgDump is what the old scripts did: pg_dump in the container, plain SQL out.
func pgDump(t *testing.T, f *dbFixture) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "docker", "exec", f.container,
		"pg_dump", "-U", f.pg.User, "-d", f.pg.Database).Output()
	require.NoError(t, err)
	return string(out)
}

// Concurrent runs: each either succeeds or names the holder; nothing is corrupted.
func TestConcurrentBackups(t *testing.T) {
	f := newDBFixture(t, 200_000)
	const n = 3
	results := make(chan run, n)
	for i := 0; i < n; i++ {
		go func() { results <- runTarget(t, f.env, "db:backup") }()
	}
	ok := 0
	for i := 0; i < n; i++ {
		r := <-results
		switch r.Code {
		case 0:
			ok++
		case 1:
			assert.Contains(t, failureLine(t, r), "db:backup (pid ")
		default:
			t.Errorf("exit %d: %s", r.Code, r.Out)
		}
	}
	require.GreaterOrEqual(t, ok, 1)
	entries := f.list(t)
	assert.Len(t, entries, ok)
	for _, e := range entries {
		r := f.run(t, "db:verify", "-name="+e.Name)
		assert.Equal(t, 0, r.Code, r.Out)
	}
}

// A full disk (a 1 MiB tmpfs) fails the backup and leaves no partial file.
func TestFullDiskLeavesNoPartialBackup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	f := newDBFixture(t, 10)
	f.sql(t, `CREATE TABLE noise AS SELECT g, decode(md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 100000) g`)
	require.NoError(t, os.MkdirAll(f.dir, 0o700))
	require.NoError(t, exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", f.dir).Run())
	t.Cleanup(func() { _ = exec.Command("umount", f.dir).Run() })

	r := f.run(t, "db:backup", "-name=too_big")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), "no space left on device")
	assert.Empty(t, f.list(t))
	files, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	for _, d := range files {
		assert.True(t, strings.HasPrefix(d.Name(), "."), "only hidden bookkeeping left, found %s", d.Name())
	}
	r = f.run(t, "db:prune")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "nothing is pruned until a backup succeeds")
}

func TestBadInputGetsOneClearLine(t *testing.T) {
	f := newDBFixture(t, 10)
	for _, name := range []string{"../x", "a/b", "$(id)", "a b", ".hidden", strings.Repeat("n", 101), "x;rm", "dump.sql"} {
		r := f.run(t, "db:backup", "-name="+name)
		assert.Equal(t, 1, r.Code, name)
		assert.Contains(t, failureLine(t, r), "backup name")
	}
	r := f.run(t, "db:restore", "-name=no_such_backup", "-yes")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), `no backup named "no_such_backup"`)

	r = runTarget(t, []string{"STEVEDORE_BACKUP_DIR=" + f.dir}, "db:backup", "-container=no-such-container")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), `no container named "no-such-container"`)

	r = runTarget(t, []string{"STEVEDORE_BACKUP_DIR=" + f.dir, "DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "dead.sock")}, "db:backup", "-container="+f.container)
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "Docker engine not reachable")
	assert.Less(t, r.Took, 2*time.Second)

	// The database named in the container's environment is gone.
	f.sql(t, `CREATE DATABASE spare`)
	admin := *f.pg
	admin.DSN = strings.Replace(f.pg.DSN, "/"+f.pg.Database+"?", "/spare?", 1)
	_, err := admin.Connect(t).Exec(t.Context(), `DROP DATABASE `+f.pg.Database+` WITH (FORCE)`)
	require.NoError(t, err)
	r = f.run(t, "db:backup")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), `database "app" does not exist`)
	assert.Empty(t, f.list(t))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.pg.Container.Stop(ctx, nil))
	r = f.run(t, "db:backup")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "is not running (exited)")
	assert.Contains(t, r.Out, "next: docker start "+f.container)
}

func names(entries []store.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name
	}
	return out
}

// Flags for a Docker container and for a pod together are refused before
// anything is reached (the pod paths run against a real cluster in
// kube_real_test.go).
func TestDockerAndPodFlagsTogetherAreRefused(t *testing.T) {
	r := runTarget(t, []string{"STEVEDORE_BACKUP_DIR=" + t.TempDir()}, "db:backup", "-container=db", "-pod=postgres-0")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "-container names a Docker container but [-pod] are for Kubernetes")
}

// Ctrl-C in the middle of a dump: exit 130 at once, nothing that looks like
// a backup, no sidecar and no exchange folder (it holds a password file).
func TestInterruptedBackupExits130AndLeavesNothing(t *testing.T) {
	f := newDBFixture(t, 1_500_000)
	eng := pgtest.RequireDocker(t)
	cmd := target(t, f.env, "db:backup")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { // the dump is under way: its sidecar runs
		list, err := eng.ContainerList(t.Context(), client.ContainerListOptions{Filters: make(client.Filters).Add("label", pgtarget.LabelSidecar)})
		return err == nil && len(list.Items) > 0
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // into the transfer
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	start := time.Now()
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, out.String())
	assert.Equal(t, 130, exit.ExitCode(), out.String())
	assert.NotContains(t, out.String(), raceReport, "the targets raced")
	assert.Less(t, time.Since(start), 4*time.Second, "stops at once, inside mage's 5 s")
	assert.Contains(t, out.String(), "✗ interrupted")
	assert.Empty(t, f.list(t))
	require.Eventually(t, func() bool {
		list, err := eng.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", pgtarget.LabelSidecar)})
		return err == nil && len(list.Items) == 0
	}, 10*time.Second, 100*time.Millisecond, "the sidecar is gone")
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("stevedore-io-%d-*", cmd.Process.Pid)))
	assert.Empty(t, dirs, "the exchange folder is removed")
}
