package pgbackup_test

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/internal/iocount"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// kubectl exec can end a stream early and still exit 0: wherever the
// STAND-IN cuts every dump, the backup dumps again, then is refused, and
// nothing is kept. A stand-in because no real cluster cuts a stream after N
// bytes on demand; everything else runs against a real cluster
// (tasks/kube_real_test.go).
func TestKubeStandInTruncatedDumpIsRefused(t *testing.T) {
	db, full := standInPod(t)
	for _, cut := range []int64{1, full / 3, full / 2, full - 200, full - 1} {
		t.Run(strconv.FormatInt(cut, 10), func(t *testing.T) {
			t.Setenv("STANDIN_TRUNCATE", strconv.FormatInt(cut, 10))
			st, err := store.Open(t.TempDir())
			require.NoError(t, err)
			retries := 0
			_, err = pgbackup.Backup(t.Context(), db, st, "cut", pgbackup.Options{
				Retry: func(*pgtarget.TruncatedError, int) { retries++ },
			})
			require.Error(t, err)
			var truncated *pgtarget.TruncatedError
			var incomplete *pgbackup.IncompleteDumpError
			assert.True(t, errors.As(err, &truncated) || errors.As(err, &incomplete), "%v", err)
			if errors.As(err, &truncated) {
				assert.Equal(t, pgbackup.StreamAttempts-1, retries, "dumped again before refusing")
			}
			if cut == full-1 {
				// Only the final blank line is lost: the dump's own trailer looks
				// whole, so only the pod's byte count and sha256 can tell.
				assert.ErrorAs(t, err, &truncated)
			}
			entries, err := st.List()
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing that looks like a backup")
		})
	}
}

// A dump cut short once (as the real cluster did in CI: 92 MB of a dump
// arrived, then kubectl exited 0) is taken again, and the backup holds the
// whole dump. The cut is the STAND-IN's, for the reason above.
func TestKubeStandInDumpCutOnceIsTakenAgain(t *testing.T) {
	db, full := standInPod(t)

	t.Setenv("STANDIN_TRUNCATE", strconv.FormatInt(full/2, 10))
	t.Setenv("STANDIN_CUTS", "1")
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	var attempts []int
	rec, err := pgbackup.Backup(t.Context(), db, st, "again", pgbackup.Options{
		Retry: func(cut *pgtarget.TruncatedError, attempt int) {
			assert.Equal(t, full/2, cut.Got, "what arrived of the cut stream")
			attempts = append(attempts, attempt)
		},
	})
	require.NoError(t, err)
	assert.Equal(t, []int{2}, attempts)
	assert.Equal(t, full, rec.DumpBytes, "the whole dump")
	entries, err := st.List()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.NoError(t, pgbackup.CheckSum(entries[0]))
	check, err := pgbackup.Verify(t.Context(), db, entries[0], nil, nil)
	require.NoError(t, err, "%+v", check)
}

// A load cut short in the middle of a COPY row, where psql fails on the
// half row (exit 3, as a statement of the backup would), is a cut stream,
// not a bad backup: cut once, db:verify loads again and passes; cut every
// time, it fails with no verdict on the backup and no scratch database
// left. The cut is the STAND-IN's, for the reason above.
func TestKubeStandInLoadCutIsNoVerdictOnTheBackup(t *testing.T) {
	db, _ := standInPod(t)
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	_, err = pgbackup.Backup(t.Context(), db, st, "whole", pgbackup.Options{})
	require.NoError(t, err)
	entries, err := st.List()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	// Inside the id of row 10000: "100", then the stream ends, and the row
	// lacks its second column (a cut inside the text column would still
	// be a row COPY takes). Counted in what a load sends: the guarded dump.
	plain := guarded(t, entries[0].Path)
	row := strings.Index(plain, "\n10000\t")
	require.Positive(t, row)
	cutAt := int64(row + len("\n100"))

	t.Setenv("STANDIN_CUT", "load")
	t.Setenv("STANDIN_TRUNCATE", strconv.FormatInt(cutAt, 10))
	t.Setenv("STANDIN_CUTS", "1")
	var attempts []int
	check, err := pgbackup.Verify(t.Context(), db, entries[0], nil, func(cut *pgtarget.TruncatedError, attempt int) {
		assert.Equal(t, cutAt, cut.Got, "what psql was given of the cut stream")
		attempts = append(attempts, attempt)
	})
	require.NoError(t, err, "%+v", check)
	assert.Equal(t, []int{2}, attempts)

	t.Setenv("STANDIN_CUTS", "")
	_, err = pgbackup.Verify(t.Context(), db, entries[0], nil, nil)
	var cut *pgtarget.TruncatedError
	require.ErrorAs(t, err, &cut)
	assert.False(t, pgbackup.BadBackup(err), "a cut stream says nothing of the backup: %v", err)
	left, err := db.Query(t.Context(), "postgres", `SELECT count(*) FROM pg_database WHERE datname LIKE 'stevedore\_%'`)
	require.NoError(t, err)
	assert.Equal(t, "0", strings.TrimSpace(left), "no scratch database stays")
}

// guarded is what a load of the backup at path sends psql.
func guarded(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := zstd.NewReader(f)
	require.NoError(t, err)
	defer zr.Close()
	_, sent := dumpscan.GuardReader(zr)
	plain, err := io.ReadAll(sent)
	require.NoError(t, err)
	return string(plain)
}

// standInPod is a database in the STAND-IN's pod, and the size of its whole
// dump.
func standInPod(t *testing.T) (*pgtarget.Kube, int64) {
	pg := pgtest.Start(t)
	flags := pgtest.KubeStandIn(t, pg)
	_, err := pg.Connect(t).Exec(t.Context(), `CREATE TABLE item AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 20000) g`)
	require.NoError(t, err)
	db, err := pgtarget.OpenPod(t.Context(), flags)
	require.NoError(t, err)
	full := &iocount.Writer{}
	require.NoError(t, db.Dump(t.Context(), full))
	return db, full.N
}
