package pgbackup_test

import (
	_ "embed"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

//go:embed testdata/rich.sql
var richSQL string

const userSchemas = `n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'`

// fingerprintQueries describe a database's schema and data as sorted text:
// equal fingerprints mean nothing the tests care about was lost.
var fingerprintQueries = map[string]string{
	"schemas": `SELECT n.nspname, coalesce(obj_description(n.oid, 'pg_namespace'), '') FROM pg_namespace n WHERE ` + userSchemas,
	"relations": `SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.relispartition,
		coalesce(pg_get_expr(c.relpartbound, c.oid), ''), coalesce(obj_description(c.oid, 'pg_class'), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + userSchemas,
	"columns": `SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
		a.attidentity, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), coalesce(col_description(c.oid, a.attnum), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND ` + userSchemas,
	"constraints": `SELECT n.nspname, conrelid::regclass::text, contypid::regtype::text, conname, pg_get_constraintdef(co.oid)
		FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace WHERE ` + userSchemas,
	"indexes":  `SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema'`,
	"views":    `SELECT n.nspname, c.relname, pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND ` + userSchemas,
	"routines": `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') AND ` + userSchemas,
	"triggers": `SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT tgisinternal`,
	"enums":    `SELECT enumtypid::regtype::text, enumsortorder, enumlabel FROM pg_enum`,
	"types": `SELECT n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE t.typtype IN ('d', 'e', 'c', 'r') AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c') AND ` + userSchemas,
	"extensions":    `SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
	"sequences":     `SELECT schemaname, sequencename, last_value, start_value, increment_by FROM pg_sequences`,
	"large objects": `SELECT m.oid, md5(lo_get(m.oid)), coalesce(obj_description(m.oid, 'pg_largeobject'), '') FROM pg_largeobject_metadata m`,
}

// fingerprint returns the database's description, and the data of every
// table and materialized view as a row count and an md5 of its sorted rows.
func fingerprint(t *testing.T, conn *pgx.Conn) map[string]string {
	t.Helper()
	ctx := t.Context()
	fp := map[string]string{}
	rowsText := func(sql string) string {
		rows, err := conn.Query(ctx, "SELECT string_agg(x::text, E'\\n' ORDER BY x::text) FROM ("+sql+") x")
		require.NoError(t, err, sql)
		defer rows.Close()
		var out *string
		require.True(t, rows.Next())
		require.NoError(t, rows.Scan(&out))
		if out == nil {
			return ""
		}
		return *out
	}
	for name, sql := range fingerprintQueries {
		fp[name] = rowsText(sql)
	}
	rows, err := conn.Query(ctx, `SELECT c.relkind::text, format('%I.%I', n.nspname, c.relname) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND `+userSchemas)
	require.NoError(t, err)
	rels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Kind, Name string }])
	require.NoError(t, err)
	for _, rel := range rels {
		only := "ONLY " // an inheritance parent's own rows
		if rel.Kind == "m" {
			only = ""
		}
		fp["data "+rel.Name] = rowsText(fmt.Sprintf(`SELECT count(*) AS n, md5(string_agg(t::text, E'\n' ORDER BY t::text)) AS md5 FROM %s%s t`, only, rel.Name))
	}
	return fp
}

// Everything the rich database holds survives backup, destruction and restore.
func TestRestoreIsFaithfulOnARichDatabase(t *testing.T) {
	pg := pgtest.Start(t)
	conn := pg.Connect(t)
	ctx := t.Context()
	_, err := conn.Exec(ctx, richSQL)
	require.NoError(t, err)
	before := fingerprint(t, conn)
	require.Contains(t, before["data public.blobs"], "(54,", "the rich data is there")
	require.Contains(t, before["large objects"], "424242")

	db := openDB(t, pg)
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	rec, err := pgbackup.Backup(ctx, db, st, "rich", pgbackup.Options{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, rec.LargeObjects)

	// Destroy: drop schemas, data, large objects, move sequences.
	_, err = conn.Exec(ctx, `DROP SCHEMA sales CASCADE; DROP TABLE public.blobs, public.measurement;
		SELECT lo_unlink(424242); TRUNCATE public.numbers; DROP EXTENSION pg_trgm;`)
	require.NoError(t, err)
	require.NotEqual(t, before, fingerprint(t, conn))
	conn.Close(ctx)

	entry, err := st.Find("rich")
	require.NoError(t, err)
	_, _, err = pgbackup.Restore(ctx, db, entry, nil, nil)
	require.NoError(t, err)

	after := fingerprint(t, pg.Connect(t))
	for k := range before {
		assert.Equal(t, before[k], after[k], k)
	}
	assert.Len(t, after, len(before))
}
