package pgbackup_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// databaseState reads what belongs to database app itself, field by field,
// from a session on the postgres database.
func databaseState(t *testing.T, pg *pgtest.Postgres) map[string]any {
	t.Helper()
	conn := pg.ConnectTo(t, "postgres")
	var doc string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT json_build_object(
		'owner', pg_get_userbyid(d.datdba),
		'privileges', (SELECT json_agg(x ORDER BY x) FROM (SELECT format('%s=%s/%s%s', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
			a.privilege_type, pg_get_userbyid(a.grantor), CASE WHEN a.is_grantable THEN '*' ELSE '' END) AS x FROM aclexplode(d.datacl) a) p),
		'settings', (SELECT json_agg(coalesce(r.rolname, '(database)') || ': ' || array_to_string(s.setconfig, ' | ') ORDER BY 1)
			FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = d.oid),
		'comment', shobj_description(d.oid, 'pg_database'),
		'connection limit', d.datconnlimit,
		'locale provider', d.datlocprovider, 'icu locale', d.daticulocale,
		'collate', d.datcollate, 'ctype', d.datctype, 'encoding', pg_encoding_to_char(d.encoding),
		'accepts connections', d.datallowconn)::text FROM pg_database d WHERE d.datname = 'app'`).Scan(&doc))
	var state map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &state))
	return state
}

// What belongs to the database itself is not in a dump; a restore swaps
// databases, so the live one's owner, privileges (a grant by a non-owner
// grantor included), settings, comment, connection limit and locale
// provider must carry over, field by field, and come back with an undo.
func TestRestoreCarriesTheDatabasesOwnState(t *testing.T) {
	pg := pgtest.Start(t, testcontainers.WithEnv(map[string]string{"POSTGRES_INITDB_ARGS": "--locale-provider=icu --icu-locale=en-US"}))
	admin := pg.ConnectTo(t, "postgres")
	ctx := t.Context()
	for _, sql := range []string{
		`CREATE ROLE app_owner`, `CREATE ROLE app_ro`, `CREATE ROLE app_rw`,
		`ALTER DATABASE app OWNER TO app_owner`,
		`REVOKE CONNECT, TEMPORARY ON DATABASE app FROM PUBLIC`,
		`GRANT CONNECT ON DATABASE app TO app_ro WITH GRANT OPTION`,
		`SET ROLE app_ro`, `GRANT CONNECT ON DATABASE app TO app_rw`, `RESET ROLE`,
		`ALTER DATABASE app SET search_path TO public, "My Schema"`,
		`ALTER DATABASE app SET work_mem TO '8MB'`,
		`ALTER DATABASE app SET "app.tenant" TO 'it''s'`,
		`ALTER ROLE app_ro IN DATABASE app SET statement_timeout TO '5s'`,
		`COMMENT ON DATABASE app IS 'the shop''s data'`,
		`ALTER DATABASE app CONNECTION LIMIT 50`,
	} {
		_, err := admin.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	_, err := pg.Connect(t).Exec(ctx, `CREATE TABLE item AS SELECT g AS id FROM generate_series(1, 100) g`)
	require.NoError(t, err)
	before := databaseState(t, pg)
	require.Equal(t, "i", before["locale provider"], "the live database uses ICU: the test would prove nothing otherwise")
	require.Len(t, before["privileges"], 5)

	db := openDB(t, pg)
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	_, err = pgbackup.Backup(ctx, db, st, "state", pgbackup.Options{})
	require.NoError(t, err)
	entry, err := st.Find("state")
	require.NoError(t, err)
	_, kept, err := pgbackup.Restore(ctx, db, entry, nil, nil)
	require.NoError(t, err)

	after := databaseState(t, pg)
	for field, want := range before {
		assert.Equal(t, want, after[field], field)
	}

	_, err = admin.Exec(ctx, `COMMENT ON DATABASE app IS 'changed after the restore'`)
	require.NoError(t, err)
	back, _, err := pgbackup.Undo(ctx, db, time.Now().Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, kept, back.Name)
	undone := databaseState(t, pg)
	assert.Equal(t, "changed after the restore", undone["comment"], "the state belongs to the name: the latest comment stays")
	delete(undone, "comment")
	for field, v := range undone {
		assert.Equal(t, before[field], v, field)
	}
}
