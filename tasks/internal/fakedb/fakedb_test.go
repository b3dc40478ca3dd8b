package fakedb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/internal/fakedb"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

var items = []fakedb.Table{
	{Name: "public.marker", Rows: []string{"v1"}},
	{Name: "public.item", Rows: []string{"a", "b", "c"}},
}

func exitCode(t *testing.T, err error) string {
	t.Helper()
	var e *pgtarget.ExitError
	require.ErrorAs(t, err, &e)
	require.NotNil(t, e.Server, "%v", err)
	return e.Server.Code
}

func TestFakeRecordsEveryCall(t *testing.T) {
	f := fakedb.New("app")
	ctx := t.Context()
	_, err := f.Query(ctx, "postgres", `CREATE DATABASE "s" WITH TEMPLATE template0 OWNER "postgres" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`)
	require.NoError(t, err)
	_, err = f.Query(ctx, "postgres", `CREATE DATABASE "s" WITH TEMPLATE template0 OWNER "postgres" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`)
	assert.Equal(t, "42P04", exitCode(t, err), "a second one of the name")
	_, err = f.Load(ctx, "s", strings.NewReader(fakedb.Script(0, items...)))
	require.NoError(t, err)
	_, err = f.Query(ctx, "postgres", `DROP DATABASE IF EXISTS "s" WITH (FORCE)`)
	require.NoError(t, err)

	calls := f.Calls()
	require.Len(t, calls, 4)
	assert.Equal(t, fakedb.OpQuery, calls[0].Op)
	assert.Equal(t, "postgres", calls[0].DB)
	assert.NoError(t, calls[0].Err)
	assert.Error(t, calls[1].Err, "failures are recorded too")
	assert.Equal(t, fakedb.OpLoad, calls[2].Op)
	assert.Equal(t, "s", calls[2].DB)
	assert.Contains(t, calls[2].SQL, "COPY public.item 3")
	assert.Contains(t, calls[3].SQL, "DROP DATABASE")
	assert.Equal(t, 2, f.Count(fakedb.OpQuery, "CREATE DATABASE"))
	assert.Equal(t, []string{"app", "postgres", "template0", "template1"}, f.Names())
}

func TestFakeQueryIsOneTransaction(t *testing.T) {
	f := fakedb.New("app", fakedb.WithTables(items...))
	_, err := f.Query(t.Context(), "postgres", "BEGIN;\nALTER DATABASE \"app\" RENAME TO \"kept\";\nALTER DATABASE \"missing\" RENAME TO \"app\";\nCOMMIT;")
	assert.Equal(t, "3D000", exitCode(t, err))
	assert.Equal(t, []string{"app", "postgres", "template0", "template1"}, f.Names(), "the first rename was rolled back")
	live, _ := f.Database("app")
	assert.Equal(t, items, live.Tables)

	_, err = f.Query(t.Context(), "app", `ALTER DATABASE "app" RENAME TO "x"`)
	assert.Equal(t, "0A000", exitCode(t, err), "the database a session is in cannot be renamed")
	_, err = f.Query(t.Context(), "postgres", `VACUUM`)
	assert.Equal(t, "42601", exitCode(t, err), "SQL the fake does not model is refused, not ignored")
	_, err = f.Query(t.Context(), "nowhere", `BEGIN`)
	var exit *pgtarget.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.Status, "a connection to a missing database fails as psql's does")
}

func TestFakeRenameNeedsNoSessionsAndTerminateEndsThem(t *testing.T) {
	f := fakedb.New("app", fakedb.WithDatabase(fakedb.Database{Name: "app", Sessions: []string{"psql"}}))
	_, err := f.Query(t.Context(), "postgres", `ALTER DATABASE "app" RENAME TO "b"`)
	assert.Equal(t, "55006", exitCode(t, err))
	out, err := f.Query(t.Context(), "postgres", "BEGIN;\nSELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN ('app', 'x') AND pid <> pg_backend_pid();\nALTER DATABASE \"app\" RENAME TO \"b\";\nCOMMIT;")
	require.NoError(t, err)
	assert.Equal(t, "1\n", out)
	b, ok := f.Database("b")
	require.True(t, ok)
	assert.Empty(t, b.Sessions)
}

func TestFakeFaults(t *testing.T) {
	ctx := t.Context()
	create := func(f *fakedb.DB, name string) error {
		_, err := f.Query(ctx, "postgres", `CREATE DATABASE "`+name+`" WITH TEMPLATE template0 OWNER "postgres" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`)
		return err
	}
	boom := errors.New("boom")

	t.Run("FailOn", func(t *testing.T) {
		f := fakedb.New("app")
		f.FailOn("CREATE DATABASE", boom)
		assert.ErrorIs(t, create(f, "a"), boom)
		assert.ErrorIs(t, create(f, "b"), boom, "every time")
		assert.NotContains(t, f.Names(), "a")
	})
	t.Run("Nth and Times", func(t *testing.T) {
		f := fakedb.New("app")
		f.Inject(fakedb.Fault{Op: fakedb.OpQuery, Match: "CREATE DATABASE", Nth: 2, Times: 1, Err: boom})
		assert.NoError(t, create(f, "a"))
		assert.ErrorIs(t, create(f, "b"), boom)
		assert.NoError(t, create(f, "c"))
		assert.Equal(t, []string{"a", "app", "c", "postgres", "template0", "template1"}, f.Names())
	})
	t.Run("AfterCommit", func(t *testing.T) {
		f := fakedb.New("app")
		f.Inject(fakedb.Fault{Match: "CREATE DATABASE", AfterCommit: true, Err: fakedb.ConnectionLost()})
		err := create(f, "a")
		var exit *pgtarget.ExitError
		require.ErrorAs(t, err, &exit)
		assert.False(t, exit.FromScript())
		assert.Contains(t, f.Names(), "a", "the work was done, only the answer was lost")
	})
	t.Run("Hold and FreeSpace", func(t *testing.T) {
		f := fakedb.New("app", fakedb.WithFreeSpace(42))
		n, err := f.FreeSpace(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 42, n)
		f.Inject(fakedb.Fault{Op: fakedb.OpFreeSpace, Err: boom})
		f.Inject(fakedb.Fault{Op: fakedb.OpHold, Err: boom})
		_, err = f.FreeSpace(ctx)
		assert.ErrorIs(t, err, boom)
		_, _, err = f.Hold(ctx, "postgres", "SELECT CASE WHEN pg_try_advisory_lock(1) THEN '' ELSE coalesce((SELECT 'x'), 'another session') END")
		assert.ErrorIs(t, err, boom)
	})
}

func TestFakeLoadStoresWhatTheScriptHolds(t *testing.T) {
	ctx := t.Context()
	script := fakedb.Script(2, items...) + "INSERT INTO public.extra VALUES (1);\n"
	f := fakedb.New("app")
	tags, err := f.Load(ctx, "app", strings.NewReader(script))
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 3}, tags.Copies)
	assert.EqualValues(t, 1, tags.Inserts)
	live, _ := f.Database("app")
	assert.Equal(t, items, live.Tables)
	assert.EqualValues(t, 2, live.LargeObjects)
	out, err := f.Query(ctx, "app", "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata")
	require.NoError(t, err)
	assert.Equal(t, "2\n", out)

	t.Run("lose rows", func(t *testing.T) {
		f := fakedb.New("app")
		f.Inject(fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item ", LoseRows: 2})
		tags, err := f.Load(ctx, "app", strings.NewReader(script))
		require.NoError(t, err)
		assert.Equal(t, []int64{1, 1}, tags.Copies)
		live, _ := f.Database("app")
		assert.Equal(t, []string{"a"}, live.Tables[1].Rows, "what is reported is what is stored")
	})
	t.Run("fails midway", func(t *testing.T) {
		f := fakedb.New("app")
		after := int64(strings.Index(script, "COPY public.item"))
		f.Inject(fakedb.Fault{Op: fakedb.OpLoad, After: after, Err: fakedb.ScriptError(20, "22P02", "invalid input syntax")})
		tags, err := f.Load(ctx, "app", strings.NewReader(script))
		var exit *pgtarget.ExitError
		require.ErrorAs(t, err, &exit)
		assert.True(t, exit.FromScript())
		assert.Equal(t, []int64{1}, tags.Copies, "the statements before the failure ran")
		live, _ := f.Database("app")
		assert.Equal(t, items[:1], live.Tables)
		calls := f.Calls()
		assert.Equal(t, err, calls[len(calls)-1].Err, "recorded with its error")
		assert.Contains(t, calls[len(calls)-1].SQL, "COPY public.marker 1")
	})
	t.Run("cancelled", func(t *testing.T) {
		f := fakedb.New("app")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		f.Inject(fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item", Do: cancel})
		_, err := f.Load(ctx, "app", strings.NewReader(script))
		assert.ErrorIs(t, err, context.Canceled)
		live, _ := f.Database("app")
		assert.Len(t, live.Tables, 1)
	})
	t.Run("into a database dropped meanwhile", func(t *testing.T) {
		_, err := fakedb.New("app").Load(ctx, "gone", strings.NewReader(script))
		var exit *pgtarget.ExitError
		require.ErrorAs(t, err, &exit)
		assert.Equal(t, "3D000", exit.Server.Code)
	})
}

func TestFakeDumpIsAPlainDumpOfTheLiveDatabase(t *testing.T) {
	f := fakedb.New("app", fakedb.WithTables(items...))
	scan := &dumpscan.Scanner{}
	require.NoError(t, f.Dump(t.Context(), scan))
	assert.True(t, scan.Complete())
	assert.Equal(t, []dumpscan.Table{{Name: "public.marker", Rows: 1}, {Name: "public.item", Rows: 3}}, scan.Tables())

	f.Inject(fakedb.Fault{Op: fakedb.OpDump, After: 100})
	cut := &dumpscan.Scanner{}
	require.NoError(t, f.Dump(t.Context(), cut), "a stream cut short without an error")
	assert.EqualValues(t, 100, cut.Bytes())
	assert.False(t, cut.Complete())
}

func TestFakeHoldTakesTheRunLock(t *testing.T) {
	ctx := t.Context()
	const sql = "SELECT CASE WHEN pg_try_advisory_lock(77) THEN '' ELSE coalesce((SELECT 1), 'another session') END"
	f := fakedb.New("app")
	first, release, err := f.As("stevedore otherhost:1").Hold(ctx, "postgres", sql)
	require.NoError(t, err)
	assert.Empty(t, first, "taken")
	first, again, err := f.Hold(ctx, "postgres", sql)
	require.NoError(t, err)
	assert.Equal(t, "stevedore otherhost:1", first, "held by the other session")
	again()
	release()
	release() // twice is harmless
	first, mine, err := f.Hold(ctx, "postgres", sql)
	require.NoError(t, err)
	assert.Empty(t, first, "free again")
	mine()
	assert.True(t, pgtarget.OrphanSession(fakedb.DeadRun()))
}
