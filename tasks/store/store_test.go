package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"backup_20261123_101500", "before-migration.v2", "A", strings.Repeat("x", MaxNameLen)} {
		assert.NoError(t, ValidateName(ok), ok)
	}
	bad := []string{
		"", "..", "../etc/passwd", "a/b", `a\b`, "/abs", ".hidden", "-flag", "a..b",
		"name with space", "semi;colon", "$(reboot)", "`id`", "a|b", "a&b", "a>b", "a<b", "a*b", "a?b",
		"quote'", `dq"`, "tab\there", "new\nline", "nul\x00", "bell\a", "ünïcode", "emoji😀",
		strings.Repeat("x", MaxNameLen+1), "dump.sql", "dump.sql.zst", "dump.json", "old.sql.gz", "old.zip",
		"x.partial-2", "a.partial-", // would be taken for an unfinished backup's file and cleaned away
	}
	for _, name := range bad {
		err := ValidateName(name)
		if assert.Error(t, err, "%q", name) {
			assert.NotContains(t, err.Error(), "\n", "one line")
		}
	}
}

func TestDefaultNameRoundTrips(t *testing.T) {
	at := time.Date(2026, 11, 23, 17, 5, 9, 0, time.Local)
	name := DefaultName("backup", at)
	assert.Equal(t, "backup_20261123_170509", name)
	got, ok := TimeFromName(name)
	assert.True(t, ok)
	assert.True(t, at.Equal(got))
	_, ok = TimeFromName("before_migration")
	assert.False(t, ok)
}

func writeBackup(t *testing.T, s *Store, name string, at time.Time) {
	t.Helper()
	require.NoError(t, WriteFileAtomic(filepath.Join(s.Dir, DataFile(name, false)), []byte("data")))
	require.NoError(t, s.WriteRecord(&Record{Version: RecordVersion, Name: name, File: name + dataExt, CreatedAt: at}))
}

func TestListShowsBackupsNewestFirstAndIgnoresLeftovers(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "backups"))
	require.NoError(t, err)
	info, err := os.Stat(s.Dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "private folder")

	now := time.Now()
	writeBackup(t, s, "middle", now.Add(-time.Hour))
	writeBackup(t, s, "newest", now)
	// The old scripts' files: the time comes from the name, not the mtime.
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "backup_20200101_000000.sql.zip"), []byte("zip"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "manual.sql"), []byte("sql"), 0o600))
	require.NoError(t, os.Chtimes(filepath.Join(s.Dir, "manual.sql"), now.Add(-2*time.Hour), now.Add(-2*time.Hour)))
	// Leftovers: a partial file, data without a record, a record without data, a damaged record.
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, ".x.sql.zst.partial-99"), []byte("half"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, DataFile("orphan", false)), []byte("no record"), 0o600))
	require.NoError(t, s.WriteRecord(&Record{Name: "ghost", CreatedAt: now}))
	require.NoError(t, os.WriteFile(s.RecordPath("damaged"), []byte("{"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, DataFile("damaged", false)), []byte("x"), 0o600))

	entries, err := s.List()
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
	}
	assert.Equal(t, []string{"newest", "middle", "manual", "backup_20200101_000000"}, got)
	assert.Equal(t, ".sql.zip", entries[3].Legacy)

	for _, p := range []string{filepath.Join(s.Dir, DataFile("newest", false)), s.RecordPath("newest")} {
		info, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s private", p)
	}

	latest, err := s.Latest()
	require.NoError(t, err)
	assert.Equal(t, "newest", latest.Name)

	removed, err := s.CleanLeftovers()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{".x.sql.zst.partial-99", "orphan.sql.zst"}, removed)
	assert.True(t, s.Exists("newest"))
	assert.True(t, s.Exists("manual"))
	assert.False(t, s.Exists("orphan"))

	_, err = s.Find("nope")
	var nf *NotFoundError
	assert.ErrorAs(t, err, &nf)
	_, err = s.Find("../newest")
	assert.Error(t, err)
}

// Only the temporary files CreatePending makes are leftovers: a user's file
// whose name merely contains the tag is not touched.
func TestCleanLeftoversTakesOnlyPendingFiles(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	writeBackup(t, s, "kept", time.Now())
	for _, n := range []string{"notes.partial-2.txt", ".hidden-notes", "x.partial-2"} {
		require.NoError(t, os.WriteFile(filepath.Join(s.Dir, n), []byte("mine"), 0o600))
	}
	p, err := CreatePending(filepath.Join(s.Dir, DataFile("unfinished", false)))
	require.NoError(t, err)
	require.NoError(t, p.file.Close())
	removed, err := s.CleanLeftovers()
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Base(p.file.Name())}, removed)
	for _, n := range []string{"notes.partial-2.txt", ".hidden-notes", "x.partial-2"} {
		assert.FileExists(t, filepath.Join(s.Dir, n))
	}
}

// Reading a store changes nothing on disk: a missing folder stays missing.
func TestAtReadsWithoutChangingAnything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-yet")
	entries, err := At(dir).List()
	require.NoError(t, err)
	assert.Empty(t, entries)
	assert.NoDirExists(t, dir)
}

func TestLatestSkipsSafetyBackups(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	writeBackup(t, s, "backup_20261123_100000", time.Now().Add(-time.Hour))
	writeBackup(t, s, SafetyPrefix+"_20261123_110000", time.Now())
	latest, err := s.Latest()
	require.NoError(t, err)
	assert.Equal(t, "backup_20261123_100000", latest.Name)
}

func TestOpenMakesAnExistingFolderPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	require.NoError(t, os.Mkdir(dir, 0o755))
	_, err := Open(dir)
	require.NoError(t, err)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
}

func TestLatestSkipsBackupsThatFailedVerification(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	writeBackup(t, s, "good", time.Now().Add(-time.Hour))
	writeBackup(t, s, "bad", time.Now())
	rec, err := s.ReadRecord("bad")
	require.NoError(t, err)
	rec.Verify = &Verification{At: time.Now(), OK: false, Detail: "checksum mismatch"}
	require.NoError(t, s.WriteRecord(rec))
	latest, err := s.Latest()
	require.NoError(t, err)
	assert.Equal(t, "good", latest.Name)
}

func TestPendingFileAppearsOnlyWhenCommitted(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "x.sql.zst")
	p, err := CreatePending(final)
	require.NoError(t, err)
	_, err = p.Write([]byte("payload"))
	require.NoError(t, err)
	assert.NoFileExists(t, final)
	require.NoError(t, p.Commit())
	data, err := os.ReadFile(final)
	require.NoError(t, err)
	assert.Equal(t, "payload", string(data))
	left, _ := os.ReadDir(dir)
	assert.Len(t, left, 1, "no temporary file left")

	p, err = CreatePending(filepath.Join(dir, "y"))
	require.NoError(t, err)
	p.Abort()
	left, _ = os.ReadDir(dir)
	assert.Len(t, left, 1, "aborted file removed")
}

func TestFailureMark(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	f, err := s.LastFailure()
	require.NoError(t, err)
	assert.Nil(t, f)
	require.NoError(t, s.MarkFailure(Failure{At: time.Now(), Name: "b", Error: "disk full"}))
	f, err = s.LastFailure()
	require.NoError(t, err)
	assert.Equal(t, "disk full", f.Error)
	require.NoError(t, s.ClearFailure())
	require.NoError(t, s.ClearFailure(), "idempotent")
	f, err = s.LastFailure()
	require.NoError(t, err)
	assert.Nil(t, f)
}

// A second run waits briefly, then names the holder; a lock whose holder was
// killed is taken over at once. The holder is a real separate process.
func TestLockNamesTheHolderAndIsTakenOverFromTheDead(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	held, err := s.Acquire(t.Context(), "db:backup", time.Second)
	require.NoError(t, err)

	start := time.Now()
	_, err = s.Acquire(t.Context(), "db:prune", 300*time.Millisecond)
	var busy *BusyError
	require.ErrorAs(t, err, &busy)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	assert.Contains(t, err.Error(), "db:backup (pid ")
	held.Release()

	// Another process holds the lock (flock from util-linux on fd 9, kept
	// open by the exec'd sleep), then is killed with SIGKILL.
	holder := exec.Command("sh", "-c", `exec 9>"$1" && flock 9 && exec sleep 60`, "sh", filepath.Join(s.Dir, lockFile))
	require.NoError(t, holder.Start())
	t.Cleanup(func() { _ = holder.Process.Kill(); _, _ = holder.Process.Wait() })
	require.Eventually(t, func() bool {
		l, err := s.Acquire(t.Context(), "probe", 0)
		if err == nil {
			l.Release()
			return false
		}
		return true
	}, 5*time.Second, 20*time.Millisecond, "the other process takes the lock")
	require.NoError(t, holder.Process.Kill())
	_, _ = holder.Process.Wait()
	l, err := s.Acquire(t.Context(), "db:restore", time.Second)
	require.NoError(t, err, "lock of a killed process is taken over")
	l.Release()

	ctx, cancel := context.WithCancel(t.Context())
	held, err = s.Acquire(t.Context(), "db:backup", 0)
	require.NoError(t, err)
	defer held.Release()
	cancel()
	_, err = s.Acquire(ctx, "db:restore", time.Minute)
	assert.ErrorIs(t, err, context.Canceled)
}
