package pgbackup_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// openDB starts a PostgreSQL container and opens it the way the targets do:
// by container name, credentials read from the container's environment.
func openDB(t *testing.T, pg *pgtest.Postgres) pgtarget.Database {
	t.Helper()
	eng := pgtest.RequireDocker(t)
	name, err := pg.Container.Name(t.Context())
	require.NoError(t, err)
	db, err := pgtarget.OpenContainer(t.Context(), eng, strings.TrimPrefix(name, "/"))
	require.NoError(t, err)
	assert.Equal(t, pg.User, db.Credentials().User)
	return db
}

func TestBackupThenRestoreBringsDataBack(t *testing.T) {
	pg := pgtest.Start(t)
	conn := pg.Connect(t)
	ctx := t.Context()
	_, err := conn.Exec(ctx, `CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item SELECT g, 'n' || g FROM generate_series(1, 1000) g`)
	require.NoError(t, err)

	db := openDB(t, pg)
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	rec, err := pgbackup.Backup(ctx, db, st, "first", pgbackup.Options{})
	require.NoError(t, err)
	assert.Contains(t, rec.Tables, dumpTable("public.item", 1000))
	assert.NotEmpty(t, rec.SHA256)
	assert.True(t, strings.HasPrefix(rec.ServerVersion, "15."), rec.ServerVersion)

	_, err = conn.Exec(ctx, `DELETE FROM item WHERE id > 10; CREATE TABLE added_later (x int)`)
	require.NoError(t, err)
	conn.Close(ctx)

	entry, err := st.Find("first")
	require.NoError(t, err)
	check, _, err := pgbackup.Restore(ctx, db, entry, nil, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 1000, check.Rows)

	conn = pg.Connect(t)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM item`).Scan(&n))
	assert.Equal(t, 1000, n)
	var later *string
	require.NoError(t, conn.QueryRow(ctx, `SELECT to_regclass('added_later')::text`).Scan(&later))
	assert.Nil(t, later, "the restore is exact: a table created after the backup is gone")
}

func TestScratchNamesNeverCollideWithTheLiveDatabase(t *testing.T) {
	long := strings.Repeat("d", 63) // PostgreSQL's longest identifier
	seen := map[string]bool{long: true}
	for _, live := range []string{"app", long, strings.Repeat("d", 62) + "e"} {
		for _, role := range []pgbackup.Role{"restore", "verify", "old"} {
			n := pgbackup.ScratchName(live, role)
			assert.LessOrEqual(t, len(n), 63, n)
			assert.False(t, seen[n], "%s collides", n)
			seen[n] = true
		}
	}
}

// With the longest name PostgreSQL allows, restore and verify work on
// scratch databases and never touch the live one by a truncated name.
func TestRestoreWithTheLongestDatabaseName(t *testing.T) {
	long := strings.Repeat("l", 63)
	pg := pgtest.Start(t, postgres.WithDatabase(long))
	ctx := t.Context()
	conn := pg.Connect(t)
	_, err := conn.Exec(ctx, `CREATE TABLE item AS SELECT g AS id FROM generate_series(1, 100) g`)
	require.NoError(t, err)
	db := openDB(t, pg)
	require.Equal(t, long, db.Credentials().Database)
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	_, err = pgbackup.Backup(ctx, db, st, "long", pgbackup.Options{})
	require.NoError(t, err)
	entry, err := st.Find("long")
	require.NoError(t, err)
	_, err = pgbackup.Verify(ctx, db, entry, nil, nil)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `DELETE FROM item`)
	require.NoError(t, err)
	conn.Close(ctx)
	_, _, err = pgbackup.Restore(ctx, db, entry, nil, nil)
	require.NoError(t, err)
	var n int
	require.NoError(t, pg.Connect(t).QueryRow(ctx, `SELECT count(*) FROM item`).Scan(&n))
	assert.Equal(t, 100, n, "the restore happened")
}
