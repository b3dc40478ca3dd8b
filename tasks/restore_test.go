package tasks_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// slowPostData gives every later load of the database a post-data phase of
// rows × perRow: an expression index over an IMMUTABLE function that sleeps
// per row once the role's sessions have app.slow on (set last, so building
// it here is quick). It is the shape of a real database whose index builds
// take minutes after the last row, made cheaply.
func (f *dbFixture) slowPostData(t *testing.T, rows int, perRow time.Duration) {
	t.Helper()
	f.sql(t, fmt.Sprintf(`CREATE FUNCTION public.slow_key(i int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
		BEGIN IF current_setting('app.slow', true) = 'on' THEN PERFORM pg_sleep(%g); END IF; RETURN i; END $$;
		CREATE TABLE public.slow (id int);
		INSERT INTO public.slow SELECT generate_series(1, %d);
		CREATE INDEX slow_idx ON public.slow (public.slow_key(id));
		ALTER ROLE %s SET app.slow = 'on'`, perRow.Seconds(), rows, f.pg.User))
}

// restoresTo empties the table, restores backup name and checks that the
// data is want again.
func (f *dbFixture) restoresTo(t *testing.T, name, want string) {
	t.Helper()
	f.sql(t, `DELETE FROM item`)
	r := f.run(t, "db:restore", "-name="+name, "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, want, f.state(t))
}

// changedSinceBackup is a database with a 3 s post-data phase, backed up as
// "base" (whose data is backup), then changed.
func changedSinceBackup(t *testing.T) (f *dbFixture, backup string) {
	t.Helper()
	f = newDBFixture(t, 20_000)
	f.slowPostData(t, 300, 10*time.Millisecond)
	backup = f.state(t)
	require.Equal(t, 0, f.run(t, "db:backup", "-name=base").Code)
	f.sql(t, `DELETE FROM item WHERE id > 100`)
	return f, backup
}

// databases lists the server's databases stevedore made beside the live one.
func (f *dbFixture) databases(t *testing.T) []string {
	t.Helper()
	rows, err := f.pg.ConnectTo(t, "postgres").Query(t.Context(),
		`SELECT datname FROM pg_database WHERE datname LIKE 'stevedore\_%' OR datname LIKE '%\_\_before\_%' ORDER BY 1`)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	return names
}

// stateOf is state() of another database on the same server.
func (f *dbFixture) stateOf(t *testing.T, db string) string {
	t.Helper()
	var s string
	require.NoError(t, f.pg.ConnectTo(t, db).QueryRow(t.Context(),
		`SELECT count(*) || ' ' || md5(string_agg(id || payload, ',' ORDER BY id)) FROM item`).Scan(&s))
	return s
}

// started is a run of the targets whose output is read as it comes.
type started struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	code int
	done chan struct{} // closed once it exited and its output is read
}

// untilLine starts the targets with -v and returns once a line of their
// output contains marker; the run goes on.
func untilLine(t *testing.T, env []string, marker string, args ...string) *started {
	t.Helper()
	s := &started{cmd: target(t, env, append([]string{"-v"}, args...)...), done: make(chan struct{})}
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	require.NoError(t, s.cmd.Start())
	seen := make(chan struct{})
	go func() {
		err := s.cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			s.code = exit.ExitCode()
		}
		pw.Close()
	}()
	go func() {
		defer close(s.done)
		found := false
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if !found && strings.Contains(sc.Text(), marker) {
				found = true
				close(seen)
			}
		}
	}()
	select {
	case <-seen:
	case <-s.done:
		t.Fatalf("the run ended without a line holding %q:\n%s", marker, s.output())
	}
	return s
}

func (s *started) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// wait waits for the run to end.
func (s *started) wait(t *testing.T) run {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the run did not end:\n%s", s.output())
	}
	assert.NotContains(t, s.output(), raceReport, "the targets raced")
	return run{Out: s.output(), Code: s.code}
}

// A dump whose post-data work (here 35 s of index builds) outlasts any
// fixed limit: verify and restore wait for psql, however long it works.
func TestRestoreOutlastsAnyFixedDeadline(t *testing.T) {
	t.Parallel()
	f := newDBFixture(t, 2000)
	f.slowPostData(t, 3500, 10*time.Millisecond)
	want := f.state(t)
	require.Equal(t, 0, f.run(t, "db:backup", "-name=slow").Code)

	r := f.run(t, "-v", "db:verify", "-name=slow")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Greater(t, r.Took, 35*time.Second, "the index builds took their time")
	assert.Regexp(t, `building indexes and constraints: done in (3\d|[4-9]\d)(\.\d)?s`, r.Out)
	assert.True(t, f.list(t)[0].Verified().OK)

	f.restoresTo(t, "slow", want)
}

// kill -9 of the targets at each step of a restore: afterwards the live
// database accepts connections and holds the old data or the new, whole;
// the next run repairs what was left and says so.
func TestKilledRestoreLeavesTheDatabaseOldOrNew(t *testing.T) {
	f := newDBFixture(t, 100_000)
	f.slowPostData(t, 300, 10*time.Millisecond) // a 3 s phase to be killed in
	backup := f.state(t)
	require.Equal(t, 0, f.run(t, "db:backup", "-name=target").Code)
	f.sql(t, `DELETE FROM item WHERE id % 3 = 0`)
	eng := pgtest.RequireDocker(t)

	for _, step := range []string{"creating a scratch database…", "loading data: ", "building indexes and constraints…", "checking…", "swapping in…", "  kept  "} {
		t.Run(step, func(t *testing.T) {
			old := f.state(t)
			s := untilLine(t, f.env, step, "db:restore", "-name=target", "-yes")
			require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
			s.wait(t)
			got := f.state(t) // connects: the database accepts connections
			assert.Contains(t, []string{old, backup}, got, "old or new, whole; killed at %q after:\n%s", step, s.output())

			r := f.run(t, "db:list")
			require.Equal(t, 0, r.Code, r.Out)
			require.Eventually(t, func() bool {
				left := f.databases(t)
				return len(left) <= 1 && !slices.ContainsFunc(left, func(n string) bool { return strings.HasPrefix(n, "stevedore_") })
			}, 30*time.Second, 200*time.Millisecond, "the next run repairs: no scratch database, at most one kept: %v\n%s", f.databases(t), r.Out)
			assert.Contains(t, []string{old, backup}, f.state(t), "and the live database is still old or new")
			t.Logf("killed at %q: the live database holds the %s data", step, map[bool]string{true: "new", false: "old"}[f.state(t) == backup && old != backup])
		})
	}

	list, err := eng.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", pgtarget.LabelSidecar)})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "no sidecar survives")

	// Inside the swap: a session of the test holds a lock on the scratch
	// database that the swap's second rename waits for, so the targets are
	// killed with the live database already renamed in their transaction.
	scratch := pgbackup.ScratchName(f.pg.Database, "restore")
	for _, sessionDies := range []bool{true, false} {
		t.Run(fmt.Sprintf("inside the swap, its session dies: %t", sessionDies), func(t *testing.T) {
			f.sql(t, `DELETE FROM item WHERE id % 5 = 0`)
			old := f.state(t)
			cmd := target(t, f.env, "db:restore", "-name=target", "-yes")
			require.NoError(t, cmd.Start())
			admin := f.pg.ConnectTo(t, "postgres")
			require.Eventually(t, func() bool { return slices.Contains(f.databases(t), scratch) }, 30*time.Second, 20*time.Millisecond)
			hold, err := f.pg.ConnectTo(t, "postgres").Begin(t.Context())
			require.NoError(t, err)
			_, err = hold.Exec(t.Context(), `COMMENT ON DATABASE `+scratch+` IS 'held by the test'`)
			require.NoError(t, err)
			var swapPID int
			require.Eventually(t, func() bool {
				err := admin.QueryRow(t.Context(), `SELECT pid FROM pg_stat_activity WHERE query LIKE '%RENAME TO%' AND wait_event_type = 'Lock'`).Scan(&swapPID)
				return err == nil
			}, 60*time.Second, 50*time.Millisecond, "the swap waits for the lock")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			want := []string{backup}
			if sessionDies {
				_, err := admin.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, swapPID)
				require.NoError(t, err)
				want = []string{old}
			}
			require.NoError(t, hold.Rollback(t.Context()))
			require.Eventually(t, func() bool { return slices.Contains(want, f.state(t)) }, 30*time.Second, 100*time.Millisecond,
				"the transaction commits whole or not at all")
			r := f.run(t, "db:list")
			require.Equal(t, 0, r.Code, r.Out)
			if sessionDies {
				assert.Contains(t, r.Out, "repaired: dropped stevedore_restore_", "the next run says what it cleaned")
			}
			assert.LessOrEqual(t, len(f.databases(t)), 1, f.databases(t))
		})
	}

	t.Run("Ctrl-C", func(t *testing.T) {
		f.sql(t, `DELETE FROM item WHERE id % 7 = 0`)
		old := f.state(t)
		s := untilLine(t, f.env, "building indexes and constraints…", "db:restore", "-name=target", "-yes")
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGINT))
		start := time.Now()
		r := s.wait(t)
		assert.Equal(t, 130, r.Code, r.Out)
		assert.Less(t, time.Since(start), 5*time.Second, "within mage's 5 s")
		assert.Equal(t, old, f.state(t), "an interrupted restore changes nothing")
	})
}

// Writes made while a restore loads land in the live database, which the
// restore keeps: they are found there, and an undo brings them back.
func TestWritesDuringARestoreAreKeptAndUndoBringsThemBack(t *testing.T) {
	f, backup := changedSinceBackup(t)

	s := untilLine(t, f.env, "building indexes and constraints…", "db:restore", "-name=base", "-yes")
	f.sql(t, `INSERT INTO item VALUES (999999, 'written during the restore')`)
	during := f.state(t)
	r := s.wait(t)
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, backup, f.state(t))
	kept := regexp.MustCompile(`kept +(app__before_\d{8}_\d{6})`).FindStringSubmatch(r.Out)
	require.Len(t, kept, 2, r.Out)
	assert.Equal(t, during, f.stateOf(t, kept[1]), "the write is in the kept database")

	r = f.run(t, "db:list")
	assert.Contains(t, r.Out, "Kept on the server by the last restore")
	assert.Contains(t, r.Out, kept[1])
	r = f.run(t, "db:list", "-json")
	var doc struct {
		Kept []struct{ Name, Database string } `json:"kept"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.Out), &doc), r.Out)
	require.Len(t, doc.Kept, 1)
	assert.Equal(t, kept[1], doc.Kept[0].Name)
	assert.Equal(t, "app", doc.Kept[0].Database)

	r = f.run(t, "db:restore", "-undo", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, during, f.state(t), "undo brings the write back")
	took := regexp.MustCompile(`undone in (\d+)ms`).FindStringSubmatch(r.Out)
	require.Len(t, took, 2, "an undo is a rename: under a second\n%s", r.Out)
	t.Logf("undo: %sms of work, %s for the whole run", took[1], r.Took)
	r = f.run(t, "db:restore", "-undo", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, backup, f.state(t), "an undo can be undone")

	require.Equal(t, 0, f.run(t, "db:restore", "-name=base", "-yes").Code)
	assert.Len(t, f.databases(t), 1, "the next restore drops what the previous one kept")

	r = f.run(t, "db:prune", "-dryrun")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "would drop app__before_")
	assert.Len(t, f.databases(t), 1, "a dry run changes nothing on the server")
	r = f.run(t, "db:prune")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "dropped app__before_")
	assert.Empty(t, f.databases(t))

	r = f.run(t, "db:restore", "-undo", "-yes")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "there is no restore to undo")
}

// Two checkouts (two backup folders, so two folder locks) on one database:
// while one restores, the other neither verifies nor restores (the run
// lock on the server says who is at work), its listing repairs nothing of
// the running restore's, and the restore finishes with the right data.
func TestASecondCheckoutLeavesARunningRestoreAlone(t *testing.T) {
	f, backup := changedSinceBackup(t)
	other := []string{"STEVEDORE_DB_CONTAINER=" + f.container, "STEVEDORE_BACKUP_DIR=" + filepath.Join(t.TempDir(), "other-checkout")}
	require.Equal(t, 0, runTarget(t, other, "db:backup", "-name=theirs").Code)

	s := untilLine(t, f.env, "building indexes and constraints…", "db:restore", "-name=base", "-yes")
	for _, args := range [][]string{{"db:verify", "-name=theirs"}, {"db:restore", "-name=theirs", "-yes"}} {
		r := runTarget(t, other, args...)
		assert.Equal(t, 1, r.Code, r.Out)
		assert.Contains(t, failureLine(t, r), "another restore, verify or undo of database app is under way on its server")
	}
	r := runTarget(t, other, "-v", "db:list")
	assert.Equal(t, 0, r.Code, r.Out)
	assert.NotContains(t, r.Out, "repaired:")
	assert.Contains(t, f.databases(t), pgbackup.ScratchName(f.pg.Database, "restore"), "the running restore's database is left alone")

	r = s.wait(t)
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, backup, f.state(t))
	r = runTarget(t, other, "db:verify", "-name=theirs")
	assert.Equal(t, 0, r.Code, "once the restore is done, the other checkout works: %s", r.Out)
}

// A file made with `pg_dump --clean --create` (DROP DATABASE, CREATE
// DATABASE, \connect) restores into the live database: those statements
// are skipped, so they never reach it. pg_dumpall's output, which changes
// the whole server, is refused with the database unchanged.
func TestDumpsThatReachBeyondTheDatabase(t *testing.T) {
	f := newDBFixture(t, 2000)
	want := f.state(t)
	require.NoError(t, os.MkdirAll(f.dir, 0o700))
	writeFile(t, filepath.Join(f.dir, "clean_create.sql"), dockerExec(t, f, "pg_dump", "-U", f.pg.User, "--clean", "--create", f.pg.Database))
	writeFile(t, filepath.Join(f.dir, "whole_server.sql"), dockerExec(t, f, "pg_dumpall", "-U", f.pg.User))

	f.sql(t, `DELETE FROM item WHERE id > 10`)
	r := f.run(t, "db:restore", "-name=clean_create", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Equal(t, want, f.state(t), "the live database holds the data, not an empty copy")
	assert.Contains(t, r.Out, "not run, because they are about the database itself")
	assert.Contains(t, r.Out, `DROP DATABASE (line `)
	assert.Contains(t, r.Out, `\connect app (line `)

	f.sql(t, `DELETE FROM item WHERE id > 20`)
	before := f.state(t)
	r = f.run(t, "db:restore", "-name=whole_server", "-yes")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Regexp(t, `line \d+: CREATE ROLE changes a role, which belongs to the whole server`, failureLine(t, r))
	assert.Contains(t, failureLine(t, r), "the database was not changed")
	assert.Equal(t, before, f.state(t))
	assert.Len(t, f.databases(t), 1, "nothing left beside it but what the first restore kept: %v", f.databases(t))
}

// Old scripts' files written on Windows (CRLF) restore; an INSERT-style
// dump verifies, and the verdict says what could not be compared.
func TestCRLFAndInsertStyleDumps(t *testing.T) {
	f := newDBFixture(t, 2000)
	want := f.state(t)
	require.NoError(t, os.MkdirAll(f.dir, 0o700))
	writeFile(t, filepath.Join(f.dir, "windows.sql"), strings.ReplaceAll(pgDump(t, f), "\n", "\r\n"))
	writeFile(t, filepath.Join(f.dir, "inserts.sql"), dockerExec(t, f, "pg_dump", "-U", f.pg.User, "--inserts", f.pg.Database))

	r := f.run(t, "db:verify", "-name=windows")
	require.Equal(t, 0, r.Code, r.Out)
	f.restoresTo(t, "windows", want)

	r = f.run(t, "db:verify", "-name=inserts")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "1 table filled by 2000 INSERT statements ran in full (the server stored 2000 rows), but an INSERT-style dump holds no row counts to compare them with")
	assert.Contains(t, r.Out, "verified in")
	assert.NotContains(t, r.Out, "all as the backup holds them", "no claim of a row check")
	f.restoresTo(t, "inserts", want)
}

// A line "COPY x FROM stdin;" inside a function body or a comment is not a
// data block: the backup's record holds the real tables, and it verifies.
func TestCopyTextInsideTheSchemaIsNotData(t *testing.T) {
	f := newDBFixture(t, 500)
	f.sql(t, "CREATE FUNCTION public.tricky() RETURNS text LANGUAGE sql AS $$ SELECT '\nCOPY phantom FROM stdin;\n' $$;"+
		"COMMENT ON TABLE item IS E'\\nCOPY in_comment (x) FROM stdin;\\n'")
	r := f.run(t, "db:backup", "-name=tricky")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "holds    1 table, 500 rows")
	r = f.run(t, "db:verify", "-name=tricky")
	assert.Equal(t, 0, r.Code, r.Out)
}

// A verify the environment stops (Ctrl-C, the server ending its session) is
// no verdict on the backup: the record stays as it was, and the message says
// so and which command to run again.
func TestVerifyStoppedByTheEnvironmentIsNoVerdict(t *testing.T) {
	f := newDBFixture(t, 1000)
	f.slowPostData(t, 300, 10*time.Millisecond)
	require.Equal(t, 0, f.run(t, "db:backup", "-name=good").Code)
	verified := func() *store.Verification { return f.list(t)[0].Verified() }

	s := untilLine(t, f.env, "building indexes and constraints…", "db:verify", "-name=good")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGINT))
	r := s.wait(t)
	assert.Equal(t, 130, r.Code, r.Out)
	assert.Nil(t, verified(), "Ctrl-C is no verdict")

	scratch := pgbackup.ScratchName(f.pg.Database, "verify")
	s = untilLine(t, f.env, "building indexes and constraints…", "db:verify", "-name=good")
	_, err := f.pg.ConnectTo(t, "postgres").Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, scratch)
	require.NoError(t, err)
	r = s.wait(t)
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), "could not finish")
	assert.Contains(t, failureLine(t, r), "that says nothing about the backup, whose record is unchanged")
	assert.Contains(t, r.Out, "next: go tool mage db:verify -name=good")
	assert.Nil(t, verified(), "the server ending the session is no verdict either")

	r = f.run(t, "db:verify", "-name=good")
	require.Equal(t, 0, r.Code, r.Out)
	assert.True(t, verified().OK)
}

// A restore that the server has no room for is refused before anything
// changes. The record's database size plays a database too big for the
// disk; the free space is the server's real one.
func TestRestoreNeedsRoomOnTheServer(t *testing.T) {
	f := newDBFixture(t, 1000)
	require.Equal(t, 0, f.run(t, "db:backup", "-name=huge").Code)
	st, err := store.Open(f.dir)
	require.NoError(t, err)
	rec, err := st.ReadRecord("huge")
	require.NoError(t, err)
	assert.Positive(t, rec.DatabaseSize, "a backup records its database's size")
	rec.DatabaseSize = 1 << 50
	require.NoError(t, st.WriteRecord(rec))
	f.sql(t, `DELETE FROM item WHERE id > 500`)
	before := f.state(t)

	for _, args := range [][]string{{"db:restore", "-name=huge", "-yes"}, {"db:verify", "-name=huge"}} {
		r := f.run(t, args...)
		assert.Equal(t, 1, r.Code, r.Out)
		assert.Regexp(t, `the server has .* free where its data lives, and loading huge beside the live database needs about 1\.2 PB`, failureLine(t, r))
		assert.Equal(t, before, f.state(t))
	}
	assert.Nil(t, f.list(t)[0].Verified(), "no room is no verdict on the backup")
}

// Names and pruning: a name that looks like a leftover is refused; a dry
// run changes nothing on disk; the automatic prune keeps the backup it
// follows even when the clock said it was older than all the others; a
// backup refused for its name does not block pruning.
func TestPruningKeepsWhatItMust(t *testing.T) {
	f := newDBFixture(t, 100)
	r := f.run(t, "db:backup", "-name=x.partial-2")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "marks the temporary file of an unfinished backup")

	require.Equal(t, 0, f.run(t, "db:backup", "-name=seed").Code)
	st, err := store.Open(f.dir)
	require.NoError(t, err)
	seed, err := st.ReadRecord("seed")
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(st.Dir, store.DataFile("seed", false)))
	require.NoError(t, err)
	// Ten backups taken "in 2030": a clock that has since been set back.
	for i := range 10 {
		rec := *seed
		rec.Name, rec.File, rec.CreatedAt = fmt.Sprintf("future_%d", i), fmt.Sprintf("future_%d.sql.zst", i), time.Date(2030, 1, 1, i, 0, 0, 0, time.UTC)
		require.NoError(t, store.WriteFileAtomic(st.DataPath(&rec), data))
		require.NoError(t, st.WriteRecord(&rec))
	}
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, ".seed.sql.zst.partial-99999"), []byte("left"), 0o600))

	before := snapshot(t, f.dir)
	r = f.run(t, "db:prune", "-keep=1", "-dryrun")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "would delete")
	assert.Equal(t, before, snapshot(t, f.dir), "a dry run changes nothing on disk")

	env := append(f.env, "STEVEDORE_KEEP=10")
	r = runTarget(t, env, "db:backup", "-name=now")
	require.Equal(t, 0, r.Code, r.Out)
	all := names(f.list(t))
	assert.Contains(t, all, "now", "the backup just taken is kept, whatever the clock said")
	assert.Len(t, all, 11)

	r = runTarget(t, env, "db:backup", "-name=now")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "exists already")
	r = f.run(t, "db:prune")
	assert.Equal(t, 0, r.Code, "a refused name is not a failed backup: %s", r.Out)
}

// snapshot describes a folder: each file's name, size, mode and time.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		out = append(out, fmt.Sprintf("%s %d %v %d", e.Name(), info.Size(), info.Mode(), info.ModTime().UnixNano()))
	}
	return out
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
}

// dockerExec runs a client program in the fixture's container, as the old
// scripts did, and returns its output.
func dockerExec(t *testing.T, f *dbFixture, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "docker", append([]string{"exec", f.container}, args...)...).Output()
	require.NoError(t, err)
	return string(out)
}
