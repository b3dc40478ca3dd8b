package pgbackup_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/iocount"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// The database targets through kubectl, against a real PostgreSQL whose
// container plays the pod; the cluster's exec channel is a STAND-IN
// (docker exec behind a kubectl look-alike), since no cluster runs here.
func TestKubeStandInBackupVerifyRestore(t *testing.T) {
	pg := pgtest.Start(t)
	flags := pgtest.KubeStandIn(t, pg)
	conn := pg.Connect(t)
	ctx := t.Context()
	_, err := conn.Exec(ctx, `CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item SELECT g, 'n' || g FROM generate_series(1, 5000) g`)
	require.NoError(t, err)

	db, err := pgtarget.OpenPod(ctx, flags)
	require.NoError(t, err)
	assert.Equal(t, "pod db/postgres-0 (container postgres)", db.Describe())
	assert.Equal(t, pg.Database, db.Credentials().Database)
	assert.Empty(t, db.Credentials().Password, "the password stays in the pod")

	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	rec, err := pgbackup.Backup(ctx, db, st, "from_pod", pgbackup.Options{})
	require.NoError(t, err)
	assert.Contains(t, rec.Tables, dumpTable("public.item", 5000))
	assert.Equal(t, "pod db/postgres-0 (container postgres)", rec.Source)

	entry, err := st.Find("from_pod")
	require.NoError(t, err)
	_, err = pgbackup.Verify(ctx, db, entry, nil)
	require.NoError(t, err)

	_, err = conn.Exec(ctx, `DELETE FROM item WHERE id > 10`)
	require.NoError(t, err)
	conn.Close(ctx)
	check, _, err := pgbackup.Restore(ctx, db, entry, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 5000, check.Rows)
	var n int
	require.NoError(t, pg.Connect(t).QueryRow(ctx, `SELECT count(*) FROM item`).Scan(&n))
	assert.Equal(t, 5000, n)
}

// Snapshots and rollbacks through kubectl exec (the STAND-IN): the copy's
// statements reach psql in the pod as separate -c arguments.
func TestKubeStandInSnapshotAndRollback(t *testing.T) {
	pg := pgtest.Start(t)
	flags := pgtest.KubeStandIn(t, pg)
	ctx := t.Context()
	_, err := pg.Connect(t).Exec(ctx, `CREATE TABLE item (id int); INSERT INTO item SELECT generate_series(1, 100)`)
	require.NoError(t, err)
	db, err := pgtarget.OpenPod(ctx, flags)
	require.NoError(t, err)
	taken, err := pgbackup.TakeSnapshot(ctx, db, "in-pod", time.Now())
	require.NoError(t, err)
	assert.Positive(t, taken.Size)
	_, err = pg.Connect(t).Exec(ctx, `DELETE FROM item`)
	require.NoError(t, err)
	list, err := pgbackup.Snapshots(ctx, db)
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = pgbackup.Rollback(ctx, db, list[0], list, time.Now().Add(time.Second), false)
	require.NoError(t, err)
	var n int
	require.NoError(t, pg.Connect(t).QueryRow(ctx, `SELECT count(*) FROM item`).Scan(&n))
	assert.Equal(t, 100, n)
}

// kubectl exec can end a stream early and still exit 0: wherever the
// stand-in cuts the dump, the backup is refused and nothing is kept.
func TestKubeStandInTruncatedDumpIsRefused(t *testing.T) {
	pg := pgtest.Start(t)
	flags := pgtest.KubeStandIn(t, pg)
	_, err := pg.Connect(t).Exec(t.Context(), `CREATE TABLE item AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 20000) g`)
	require.NoError(t, err)
	db, err := pgtarget.OpenPod(t.Context(), flags)
	require.NoError(t, err)

	full := &iocount.Writer{}
	require.NoError(t, db.Dump(t.Context(), full))
	for _, cut := range []int64{1, full.N / 3, full.N / 2, full.N - 200, full.N - 1} {
		t.Run(strconv.FormatInt(cut, 10), func(t *testing.T) {
			t.Setenv("STANDIN_TRUNCATE", strconv.FormatInt(cut, 10))
			st, err := store.Open(t.TempDir())
			require.NoError(t, err)
			_, err = pgbackup.Backup(t.Context(), db, st, "cut", pgbackup.Options{})
			require.Error(t, err)
			var truncated *pgtarget.TruncatedError
			var incomplete *pgbackup.IncompleteDumpError
			assert.True(t, errors.As(err, &truncated) || errors.As(err, &incomplete), "%v", err)
			if cut == full.N-1 {
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

func TestKubeStandInErrorsAreClear(t *testing.T) {
	pg := pgtest.Start(t)
	flags := pgtest.KubeStandIn(t, pg)
	ctx := t.Context()
	tests := []struct {
		name    string
		flags   func(pgtarget.Flags) pgtarget.Flags
		env     map[string]string
		wantErr string
	}{
		{"missing pod", func(f pgtarget.Flags) pgtarget.Flags { f.Pod, f.Selector = "nope-0", ""; return f }, nil, `pods "nope-0" not found`},
		{"wrong namespace", func(f pgtarget.Flags) pgtarget.Flags { f.Namespace = "prod"; return f }, nil, `namespaces "prod" not found`},
		{"no pod matches", func(f pgtarget.Flags) pgtarget.Flags { f.Selector = "app=mysql"; return f }, nil, "no pod matches app=mysql in namespace db"},
		{"unreachable cluster", nil, map[string]string{"STANDIN_DOWN": "1"}, "Kubernetes cluster not reachable"},
		{"container not ready", nil, map[string]string{"STANDIN_READY": "false"}, "container postgres of pod postgres-0 is not ready"},
		{"pod pending", nil, map[string]string{"STANDIN_PHASE": "Pending"}, "pod postgres-0 is Pending, not Running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			f := flags
			if tt.flags != nil {
				f = tt.flags(f)
			}
			_, err := pgtarget.OpenPod(ctx, f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			var ce *pgtarget.UnavailableError
			assert.ErrorAs(t, err, &ce, "comes with the next command")
		})
	}
}
