package pgbackup_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/iocount"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// kubectl exec can end a stream early and still exit 0: wherever the
// STAND-IN cuts the dump, the backup is refused and nothing is kept. A
// stand-in because no real cluster cuts a stream after N bytes on demand;
// everything else runs against a real cluster (tasks/kube_real_test.go).
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
