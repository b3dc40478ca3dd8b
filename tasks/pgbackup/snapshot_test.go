package pgbackup_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
)

// A snapshot, a change, a rollback: the rich database is back as it was,
// and undoing the rollback brings the change back.
func TestSnapshotRollbackAndUndoOnARichDatabase(t *testing.T) {
	pg := pgtest.Start(t)
	conn := pg.Connect(t)
	ctx := t.Context()
	_, err := conn.Exec(ctx, richSQL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ALTER DATABASE `+pg.Database+` SET work_mem = '7MB'; COMMENT ON DATABASE `+pg.Database+` IS 'the live one'`)
	require.NoError(t, err)
	before := fingerprint(t, conn)
	conn.Close(ctx)

	db := openDB(t, pg)
	at := time.Now()
	taken, err := pgbackup.TakeSnapshot(ctx, db, "before-change", at)
	require.NoError(t, err)
	assert.Equal(t, "before-change", taken.Name)
	assert.Positive(t, taken.Size)

	conn = pg.Connect(t)
	_, err = conn.Exec(ctx, `DROP SCHEMA sales CASCADE; DROP TABLE public.blobs; SELECT lo_unlink(424242); TRUNCATE public.numbers`)
	require.NoError(t, err)
	changed := fingerprint(t, conn)
	require.NotEqual(t, before, changed)
	conn.Close(ctx)

	list, err := pgbackup.Snapshots(ctx, db)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, taken.DB, list[0].DB)
	assert.Positive(t, list[0].Size)

	replaced, err := pgbackup.Rollback(ctx, db, list[0], list, at.Add(time.Second), false)
	require.NoError(t, err)
	assert.True(t, replaced.Replaced())

	conn = pg.Connect(t)
	assert.Equal(t, before, fingerprint(t, conn), "rolled back: as at the snapshot")
	var workMem, comment string
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_setting('work_mem'), shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()`).Scan(&workMem, &comment))
	assert.Equal(t, "7MB", workMem, "the database's settings stay")
	assert.Equal(t, "the live one", comment)
	conn.Close(ctx)

	list, err = pgbackup.Snapshots(ctx, db)
	require.NoError(t, err)
	require.Len(t, list, 1, "the snapshot became the live database; the replaced state is kept")
	undo, ok := pgbackup.FindSnapshot(list, "", true)
	require.True(t, ok)
	_, err = pgbackup.Rollback(ctx, db, undo, list, at.Add(2*time.Second), false)
	require.NoError(t, err)
	assert.Equal(t, changed, fingerprint(t, pg.Connect(t)), "the rollback undone")

	// -keep: a copy goes in, and the snapshot stays for another rollback.
	keep, err := pgbackup.TakeSnapshot(ctx, db, "keep", at.Add(3*time.Second))
	require.NoError(t, err)
	conn = pg.Connect(t)
	_, err = conn.Exec(ctx, `DROP TABLE public.numbers`)
	require.NoError(t, err)
	conn.Close(ctx)
	for round := range 2 {
		_, err = pgbackup.Rollback(ctx, db, keep.Snapshot, list, at.Add(time.Duration(4+round)*time.Second), true)
		require.NoError(t, err)
		assert.Equal(t, changed, fingerprint(t, pg.Connect(t)), "round %d", round)
		list, err = pgbackup.Snapshots(ctx, db)
		require.NoError(t, err)
		assert.True(t, slices.ContainsFunc(list, func(s pgbackup.Snapshot) bool { return s.DB == keep.DB }), "the snapshot stays")
	}
	dbs := pg.Connect(t)
	var scratch int
	require.NoError(t, dbs.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE 'stevedore\_%'`).Scan(&scratch))
	assert.Zero(t, scratch, "no copy left behind")

	require.NoError(t, pgbackup.DropSnapshots(ctx, db, list))
	list, err = pgbackup.Snapshots(ctx, db)
	require.NoError(t, err)
	assert.Empty(t, list)
}

// Sessions the application holds, one of them inside a transaction, are
// ended for the copy and said; the database answers new ones at once.
func TestSnapshotEndsTheApplicationsSessions(t *testing.T) {
	pg := pgtest.Start(t)
	ctx := t.Context()
	idle, busy := pg.Connect(t), pg.Connect(t)
	_, err := idle.Exec(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (1)`)
	require.NoError(t, err)
	tx, err := busy.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO t VALUES (2)`)
	require.NoError(t, err)

	db := openDB(t, pg)
	taken, err := pgbackup.TakeSnapshot(ctx, db, "", time.Now())
	require.NoError(t, err)
	assert.Equal(t, 2, taken.Ended)
	assert.Regexp(t, `^\d{8}-\d{6}$`, taken.Name)

	assert.Error(t, tx.Commit(ctx), "the open transaction was ended, not committed into the snapshot")
	var n int
	require.NoError(t, pg.Connect(t).QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n))
	assert.Equal(t, 1, n)
	snap := pg.ConnectTo(t, taken.DB)
	require.NoError(t, snap.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n))
	assert.Equal(t, 1, n, "the snapshot holds only committed data")
}
