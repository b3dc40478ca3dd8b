package pgbackup_test

// The restore protocol driven through its failure paths against a fake
// server (package fakedb). The real-PostgreSQL tests stay the proof that the
// SQL works; these prove what the protocol promises whatever step fails: the
// live database is the old one, whole, or the new one, whole; no scratch
// database is left behind; the error says what went wrong.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/internal/fakedb"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

const fakeLive = "app"

var (
	// fakeOld is what the live database holds before a restore.
	fakeOld = []fakedb.Table{
		{Name: "public.marker", Rows: []string{"the live database"}},
		{Name: "public.item", Rows: fakeRows("old", 4)},
	}
	// fakeNew is what the backup holds, with two large objects.
	fakeNew = []fakedb.Table{
		{Name: "public.marker", Rows: []string{"backup b1"}},
		{Name: "public.item", Rows: fakeRows("new", 6)},
		{Name: "public.empty"},
	}
	fakeComment = "the shop"

	fakeScratch       = pgbackup.ScratchName(fakeLive, "restore")
	fakeVerifyScratch = pgbackup.ScratchName(fakeLive, "verify")
	fakeOtherRun      = "stevedore otherhost:12" // another machine's run: alive as far as we know
	fakeAt            = time.Date(2026, 11, 23, 17, 58, 50, 0, time.UTC)
)

func fakeRows(prefix string, n int) []string {
	var rows []string
	for i := range n {
		rows = append(rows, fmt.Sprintf("%s %d", prefix, i+1))
	}
	return rows
}

// fakeLiveDB is the live database before a restore: its own state (a
// comment, a connection limit) is not in any dump and must survive a swap.
func fakeLiveDB(tables []fakedb.Table) fakedb.Database {
	return fakedb.Database{Name: fakeLive, ConnLimit: 50, Comment: &fakeComment, Tables: tables}
}

// fakeServer is a server whose live database holds fakeOld.
func fakeServer(opts ...fakedb.Option) *fakedb.DB {
	return fakedb.New(fakeLive, append([]fakedb.Option{fakedb.WithDatabase(fakeLiveDB(fakeOld))}, opts...)...)
}

// fakeBackup takes, with pgbackup.Backup, a backup of a fake server holding
// fakeNew into a new store.
func fakeBackup(t *testing.T) (*store.Store, store.Entry) {
	t.Helper()
	src := fakedb.New(fakeLive, fakedb.WithDatabase(fakedb.Database{Name: fakeLive, Tables: fakeNew, LargeObjects: 2}))
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	rec, err := pgbackup.Backup(t.Context(), src, st, "b1", pgbackup.Options{})
	require.NoError(t, err)
	require.Equal(t, []dumpscan.Table{{Name: "public.marker", Rows: 1}, {Name: "public.item", Rows: 6}, {Name: "public.empty", Rows: 0}}, rec.Tables)
	e, err := st.Find("b1")
	require.NoError(t, err)
	return st, e
}

// fakeLegacy writes an old script's backup (.sql or .sql.gz) holding script.
func fakeLegacy(t *testing.T, st *store.Store, ext, script string) store.Entry {
	t.Helper()
	data := []byte(script)
	if ext == ".sql.gz" {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		_, err := gz.Write(data)
		require.NoError(t, err)
		require.NoError(t, gz.Close())
		data = b.Bytes()
	}
	require.NoError(t, os.WriteFile(filepath.Join(st.Dir, "legacy"+ext), data, 0o600))
	e, err := st.Find("legacy")
	require.NoError(t, err)
	require.Equal(t, ext, e.Legacy)
	return e
}

// fakeContent shows tables one per line, for comparing.
func fakeContent(tables []fakedb.Table) []string {
	var out []string
	for _, t := range tables {
		out = append(out, t.Name+": "+strings.Join(t.Rows, ", "))
	}
	return out
}

// assertHolds checks that database name exists, accepts connections, holds
// exactly want and has the live database's own state.
func assertHolds(t *testing.T, f *fakedb.DB, name string, want []fakedb.Table) {
	t.Helper()
	d, ok := f.Database(name)
	if !assert.True(t, ok, "database %s is there: %v", name, f.Names()) {
		return
	}
	assert.Equal(t, fakeContent(want), fakeContent(d.Tables), "what %s holds", name)
	assert.False(t, d.RefusesConnections, "%s accepts connections", name)
	assert.Equal(t, 50, d.ConnLimit, "%s keeps the live database's connection limit", name)
	if assert.NotNil(t, d.Comment, "%s keeps the live database's comment", name) {
		assert.Equal(t, fakeComment, *d.Comment)
	}
}

// assertNoScratch checks that no scratch database is on the server but
// those listed (another run's).
func assertNoScratch(t *testing.T, f *fakedb.DB, except ...string) {
	t.Helper()
	for _, n := range f.Names() {
		if strings.HasPrefix(n, "stevedore_restore_") || strings.HasPrefix(n, "stevedore_verify_") {
			assert.Contains(t, except, n, "scratch database %s is left behind", n)
		}
	}
}

// fakeKept returns the kept previous databases on the server.
func fakeKept(f *fakedb.DB) []string {
	var kept []string
	for _, n := range f.Names() {
		if _, ok := pgbackup.KeptTime(n, fakeLive); ok {
			kept = append(kept, n)
		}
	}
	return kept
}

// assertLiveUntouched checks that nothing was sent that changes the live
// database: no DDL names it.
func assertLiveUntouched(t *testing.T, f *fakedb.DB) {
	t.Helper()
	for _, c := range f.Calls() {
		assert.NotContains(t, c.SQL, `DATABASE "`+fakeLive+`"`, "the live database was touched: %s", c)
	}
	assertHolds(t, f, fakeLive, fakeOld)
	assert.Empty(t, fakeKept(f), "nothing was kept: there was no swap")
}

func assertExit(t *testing.T, err error, code string, fromScript bool) {
	t.Helper()
	var exit *pgtarget.ExitError
	if assert.ErrorAs(t, err, &exit) {
		if code != "" && assert.NotNil(t, exit.Server, "%v", err) {
			assert.Equal(t, code, exit.Server.Code)
		}
		assert.Equal(t, fromScript, exit.FromScript(), "from the script: %v", err)
		assert.Equal(t, fromScript, pgbackup.BadBackup(err), "a verdict on the backup: %v", err)
	}
}

func errorAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	require.ErrorAs(t, err, &target)
	return target
}

// fakeCase is a failure path: the server before (opts), what goes wrong
// (arrange), and the error expected (wantErr; nil when the run succeeds).
type fakeCase struct {
	name    string
	opts    []fakedb.Option
	arrange func(t *testing.T, f *fakedb.DB, st *store.Store, e *store.Entry, cancel context.CancelFunc)
	wantErr func(t *testing.T, err error)
	also    func(t *testing.T, f *fakedb.DB) // more to assert
	// leftAlone are scratch databases of another run, which must stay.
	leftAlone []string
}

func failOn(match string, err error) func(*testing.T, *fakedb.DB, *store.Store, *store.Entry, context.CancelFunc) {
	return func(_ *testing.T, f *fakedb.DB, _ *store.Store, _ *store.Entry, _ context.CancelFunc) {
		f.FailOn(match, err)
	}
}

func inject(faults ...fakedb.Fault) func(*testing.T, *fakedb.DB, *store.Store, *store.Entry, context.CancelFunc) {
	return func(_ *testing.T, f *fakedb.DB, _ *store.Store, _ *store.Entry, _ context.CancelFunc) {
		for _, fl := range faults {
			f.Inject(fl)
		}
	}
}

// preparationFailures are the ways loading and checking a backup in a
// scratch database fails; Restore and Verify must both survive each.
func preparationFailures(scratch string) []fakeCase {
	noLoad := func(t *testing.T, f *fakedb.DB) {
		assert.Zero(t, f.Count(fakedb.OpLoad, ""), "nothing was loaded")
	}
	dropped := func(t *testing.T, f *fakedb.DB) {
		assert.Equal(t, 1, f.Count(fakedb.OpQuery, `DROP DATABASE IF EXISTS "`+scratch+`"`), "the scratch database was dropped")
	}
	script := fakedb.Script(2, fakeNew...)
	return []fakeCase{
		{
			name:    "listing the server fails",
			arrange: failOn("'databases'", fakedb.ConnectionLost()),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "", false) },
			also: func(t *testing.T, f *fakedb.DB) {
				noLoad(t, f)
				assert.Zero(t, f.Count(fakedb.OpQuery, "CREATE DATABASE"))
			},
		},
		{
			name:    "creating the scratch database fails",
			arrange: failOn("CREATE DATABASE", fakedb.ServerError("53100", "could not write to file: No space left on device")),
			wantErr: func(t *testing.T, err error) {
				assertExit(t, err, "53100", false)
				assert.ErrorContains(t, err, "create scratch database")
			},
			also: noLoad,
		},
		{
			name: "another run holds the run lock",
			arrange: func(t *testing.T, f *fakedb.DB, _ *store.Store, _ *store.Entry, _ context.CancelFunc) {
				release, err := pgbackup.LockServer(t.Context(), f.As(fakeOtherRun))
				require.NoError(t, err)
				t.Cleanup(release)
			},
			wantErr: func(t *testing.T, err error) {
				assert.Equal(t, fakeOtherRun, errorAs[*pgbackup.BusyError](t, err).Holder)
			},
			also: func(t *testing.T, f *fakedb.DB) {
				noLoad(t, f)
				assert.Zero(t, f.Count(fakedb.OpQuery, "CREATE DATABASE"))
			},
		},
		{
			name:      "another run's scratch database is in use",
			opts:      []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: scratch, Sessions: []string{fakeOtherRun}, Tables: fakeOld[:1]})},
			wantErr:   func(t *testing.T, err error) { errorAs[*pgbackup.BusyError](t, err) },
			leftAlone: []string{scratch},
			also: func(t *testing.T, f *fakedb.DB) {
				noLoad(t, f)
				d, _ := f.Database(scratch)
				assert.Equal(t, fakeContent(fakeOld[:1]), fakeContent(d.Tables), "the other run's work is untouched")
				assert.Zero(t, f.Count(fakedb.OpQuery, "DROP DATABASE"))
			},
		},
		{
			name:    "the load fails midway on bad data",
			arrange: inject(fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item ", Err: fakedb.ScriptError(31, "22P02", `invalid input syntax for type integer: "x"`)}),
			wantErr: func(t *testing.T, err error) {
				assertExit(t, err, "22P02", true)
				assert.ErrorContains(t, err, "restore of ")
			},
			also: dropped,
		},
		{
			name:    "the connection is lost during the load",
			arrange: inject(fakedb.Fault{Op: fakedb.OpLoad, After: int64(len(script) / 2), Err: fakedb.ConnectionLost()}),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "", false) },
			also:    dropped,
		},
		{
			name: "the load is interrupted",
			arrange: func(_ *testing.T, f *fakedb.DB, _ *store.Store, _ *store.Entry, cancel context.CancelFunc) {
				f.Inject(fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item ", Do: cancel})
			},
			wantErr: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, context.Canceled)
				assert.False(t, pgbackup.BadBackup(err))
			},
			also: dropped, // though the context is done
		},
		{
			name:    "the server stores fewer rows than the backup holds",
			arrange: inject(fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item ", LoseRows: 1}),
			wantErr: func(t *testing.T, err error) {
				m := errorAs[*pgbackup.MismatchError](t, err)
				assert.Equal(t, []string{"public.item: 5 rows stored, the backup has 6"}, m.Diffs)
			},
			also: dropped,
		},
		{
			name:    "counting the large objects fails",
			arrange: failOn("pg_largeobject_metadata", fakedb.ConnectionLost()),
			wantErr: func(t *testing.T, err error) {
				assertExit(t, err, "", false)
				assert.ErrorContains(t, err, "count large objects")
			},
			also: dropped,
		},
		{
			name: "the backup's checksum is not its record's",
			arrange: func(_ *testing.T, _ *fakedb.DB, _ *store.Store, e *store.Entry, _ context.CancelFunc) {
				e.Record.SHA256 = strings.Repeat("0", 64)
			},
			wantErr: func(t *testing.T, err error) {
				errorAs[*pgbackup.ChecksumError](t, err)
				assert.True(t, pgbackup.BadBackup(err))
			},
			also: dropped,
		},
		{
			name: "the backup's bytes are damaged",
			arrange: func(t *testing.T, _ *fakedb.DB, _ *store.Store, e *store.Entry, _ context.CancelFunc) {
				data, err := os.ReadFile(e.Path)
				require.NoError(t, err)
				data[len(data)/2] ^= 0xff
				require.NoError(t, os.WriteFile(e.Path, data, 0o600))
			},
			wantErr: func(t *testing.T, err error) {
				errorAs[*pgbackup.ChecksumError](t, err) // damage explains whatever else went wrong
				assert.True(t, pgbackup.BadBackup(err))
			},
			also: dropped,
		},
		{
			name: "an old script's gzip backup is damaged",
			arrange: func(t *testing.T, _ *fakedb.DB, st *store.Store, e *store.Entry, _ context.CancelFunc) {
				*e = fakeLegacy(t, st, ".sql.gz", script)
				data, err := os.ReadFile(e.Path)
				require.NoError(t, err)
				for i := len(data) / 3; i < len(data)/3+8; i++ {
					data[i] ^= 0x55
				}
				require.NoError(t, os.WriteFile(e.Path, data, 0o600))
			},
			wantErr: func(t *testing.T, err error) {
				assert.Equal(t, "legacy", errorAs[*pgbackup.DamagedError](t, err).Name)
				assert.True(t, pgbackup.BadBackup(err))
			},
			also: dropped,
		},
		{
			name: "an old script's plain dump is incomplete",
			arrange: func(t *testing.T, _ *fakedb.DB, st *store.Store, e *store.Entry, _ context.CancelFunc) {
				*e = fakeLegacy(t, st, ".sql", script[:strings.Index(script, "COPY public.empty")])
			},
			wantErr: func(t *testing.T, err error) { errorAs[*pgbackup.IncompleteDumpError](t, err) },
			also:    dropped,
		},
		{
			name: "an old script's dump would change the server",
			arrange: func(t *testing.T, _ *fakedb.DB, st *store.Store, e *store.Entry, _ context.CancelFunc) {
				*e = fakeLegacy(t, st, ".sql", strings.Replace(script, "COPY public.item ", "CREATE ROLE intruder SUPERUSER;\n\nCOPY public.item ", 1))
			},
			wantErr: func(t *testing.T, err error) {
				errorAs[*dumpscan.RefusedError](t, err)
				assert.True(t, pgbackup.BadBackup(err))
			},
			also: func(t *testing.T, f *fakedb.DB) {
				dropped(t, f)
				assert.Zero(t, f.Count(fakedb.OpLoad, "COPY public.item"), "nothing after the refused statement reached the server")
			},
		},
		{
			name:    "the scratch database's creation commits but its answer is lost",
			arrange: inject(fakedb.Fault{Match: "CREATE DATABASE", AfterCommit: true, Err: fakedb.ConnectionLost()}),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "", false) },
		},
	}
}

// TestFakeRestoreProtocol restores a backup (Prepare, then SwapIn) through
// every way the preparation fails, and through success.
func TestFakeRestoreProtocol(t *testing.T) {
	succeeds := []fakeCase{
		{name: "the backup is restored"},
		{
			name: "a dead run's scratch database is replaced",
			opts: []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: fakeScratch, Sessions: []string{fakedb.DeadRun()}, Tables: fakeOld[:1]})},
			also: func(t *testing.T, f *fakedb.DB) {
				assert.Equal(t, 1, f.Count(fakedb.OpQuery, `DROP DATABASE IF EXISTS "`+fakeScratch+`"`))
			},
		},
		{
			name: "an old script's gzip backup is restored",
			arrange: func(t *testing.T, _ *fakedb.DB, st *store.Store, e *store.Entry, _ context.CancelFunc) {
				*e = fakeLegacy(t, st, ".sql.gz", fakedb.Script(2, fakeNew...))
			},
		},
		{
			name: "clients of the live database are disconnected",
			opts: []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: fakeLive, ConnLimit: 50, Comment: &fakeComment, Tables: fakeOld, Sessions: []string{"psql", "app-server"}})},
			also: func(t *testing.T, f *fakedb.DB) {
				for _, k := range fakeKept(f) {
					d, _ := f.Database(k)
					assert.Empty(t, d.Sessions)
				}
			},
		},
	}
	for _, tt := range append(succeeds, preparationFailures(fakeScratch)...) {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeServer(tt.opts...)
			st, e := fakeBackup(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.arrange != nil {
				tt.arrange(t, f, st, &e, cancel)
			}
			check, kept, err := pgbackup.Restore(ctx, f, e, nil, nil)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, 3, check.Tables)
				assert.EqualValues(t, 7, check.Rows)
				assert.EqualValues(t, 2, check.LargeObjects)
				assertHolds(t, f, fakeLive, fakeNew)
				live, _ := f.Database(fakeLive)
				assert.EqualValues(t, 2, live.LargeObjects)
				assert.Equal(t, []string{kept}, fakeKept(f))
				assertHolds(t, f, kept, fakeOld)
			} else {
				require.Error(t, err)
				tt.wantErr(t, err)
				assert.Empty(t, kept)
				assertLiveUntouched(t, f)
			}
			assertNoScratch(t, f, tt.leftAlone...)
			if tt.also != nil {
				tt.also(t, f)
			}
		})
	}
}

// TestFakeSwapInProtocol swaps a prepared database in through every way the
// swap's transaction fails.
func TestFakeSwapInProtocol(t *testing.T) {
	kept := pgbackup.KeptName(fakeLive, fakeAt)
	earlier := pgbackup.KeptName(fakeLive, fakeAt.Add(-time.Hour))
	renameAway := `ALTER DATABASE "` + fakeLive + `" RENAME TO "` + kept + `"`
	renameIn := `ALTER DATABASE "` + fakeScratch + `" RENAME TO "` + fakeLive + `"`
	inUse := fakedb.ServerError("55006", `database "app" is being accessed by other users`)
	swaps := func(n int) func(*testing.T, *fakedb.DB) {
		return func(t *testing.T, f *fakedb.DB) {
			assert.Equal(t, n, f.Count(fakedb.OpQuery, renameIn), "swap transactions sent")
		}
	}
	tests := []struct {
		fakeCase
		swapped bool
		noKept  bool // the live database was gone: nothing to keep
	}{
		{fakeCase: fakeCase{name: "the swap succeeds", also: swaps(1)}, swapped: true},
		{fakeCase: fakeCase{
			name: "a database kept within the same second is replaced",
			opts: []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: kept, Tables: fakeRows2("stale")})},
		}, swapped: true},
		{fakeCase: fakeCase{
			name: "an earlier restore's kept database is reported, not dropped",
			opts: []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: earlier, Tables: fakeRows2("earlier")})},
			also: func(t *testing.T, f *fakedb.DB) { assert.Contains(t, f.Names(), earlier) },
		}, swapped: true},
		{fakeCase: fakeCase{
			name:    "dropping a database kept within the same second fails",
			opts:    []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: kept, Tables: fakeRows2("stale")})},
			arrange: failOn(`DROP DATABASE IF EXISTS "`+kept+`"`, fakedb.ServerError("42501", "must be owner of database "+kept)),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "42501", false) },
		}},
		{fakeCase: fakeCase{
			name:    "renaming the live database away fails",
			arrange: failOn(renameAway, fakedb.ServerError("42501", "must be owner of database app")),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "42501", false) },
		}},
		{fakeCase: fakeCase{
			name:    "renaming the scratch database in fails after the live one was renamed away",
			arrange: failOn(renameIn, fakedb.ServerError("XX000", "could not rename")),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "XX000", false) },
		}},
		{fakeCase: fakeCase{
			name:    "the commit fails",
			arrange: failOn("COMMIT", fakedb.ConnectionLost()),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "", false) },
		}},
		{fakeCase: fakeCase{
			name:    "the commit's answer is lost",
			arrange: inject(fakedb.Fault{Match: "COMMIT", AfterCommit: true, Err: fakedb.ConnectionLost()}),
			also: func(t *testing.T, f *fakedb.DB) {
				assert.Equal(t, 1, f.Count(fakedb.OpQuery, "count(*) FILTER (WHERE datname"), "the server was asked whether it swapped")
			},
		}, swapped: true},
		{fakeCase: fakeCase{
			// The swap happened, but nothing can tell: the outcome is said to
			// be unknown (never "nothing changed"), and the server is still
			// whole (the new database live, the old one kept).
			name: "the commit's answer and the question whether it swapped are both lost",
			arrange: inject(fakedb.Fault{Match: "COMMIT", AfterCommit: true, Err: fakedb.ConnectionLost()},
				fakedb.Fault{Match: "count(*) FILTER (WHERE datname", Err: fakedb.ConnectionLost()}),
			wantErr: func(t *testing.T, err error) {
				unknown := errorAs[*pgbackup.SwapUnknownError](t, err)
				assert.Equal(t, fakeLive, unknown.Database)
				assert.Equal(t, "go tool mage db:list", unknown.Next())
			},
		}, swapped: true},
		{fakeCase: fakeCase{
			// A FATAL ends the session around the commit: it proves nothing.
			name: "the session is ended at the commit and the question whether it swapped is lost",
			arrange: inject(fakedb.Fault{Match: "COMMIT", AfterCommit: true,
				Err: pgtarget.ParseExit("psql", 2, "FATAL:  57P01: terminating connection due to administrator command\n")},
				fakedb.Fault{Match: "count(*) FILTER (WHERE datname", Err: fakedb.ConnectionLost()}),
			wantErr: func(t *testing.T, err error) { errorAs[*pgbackup.SwapUnknownError](t, err) },
		}, swapped: true},
		{fakeCase: fakeCase{
			// A server error rolls the transaction back: no question needed.
			name: "the swap is refused and the question whether it swapped is lost",
			arrange: inject(fakedb.Fault{Match: renameAway, Err: fakedb.ServerError("42501", "must be owner of database app")},
				fakedb.Fault{Match: "count(*) FILTER (WHERE datname", Err: fakedb.ConnectionLost()}),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "42501", false) },
		}},
		{fakeCase: fakeCase{
			name:    "a client reconnects twice: the swap is retried",
			arrange: inject(fakedb.Fault{Match: renameAway, Times: 2, Err: inUse}),
			also:    swaps(3),
		}, swapped: true},
		{fakeCase: fakeCase{
			name:    "a client keeps reconnecting",
			arrange: inject(fakedb.Fault{Match: renameAway, Err: inUse}),
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "55006", false) },
			also:    swaps(3),
		}},
		{fakeCase: fakeCase{
			name: "the live database vanished since the load",
			arrange: func(t *testing.T, f *fakedb.DB, _ *store.Store, _ *store.Entry, _ context.CancelFunc) {
				_, err := f.Query(t.Context(), "postgres", `DROP DATABASE IF EXISTS "`+fakeLive+`" WITH (FORCE)`)
				require.NoError(t, err)
			},
		}, swapped: true, noKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeServer(tt.opts...)
			_, e := fakeBackup(t)
			pr, err := pgbackup.Prepare(t.Context(), f, e, nil, nil)
			require.NoError(t, err)
			if tt.arrange != nil {
				tt.arrange(t, f, nil, &e, nil)
			}
			gotKept, gotEarlier, err := pr.SwapIn(t.Context(), fakeAt)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, kept, gotKept)
			} else {
				require.Error(t, err)
				tt.wantErr(t, err)
			}
			switch {
			case tt.swapped && tt.noKept:
				assert.Equal(t, fakeContent(fakeNew), fakeContent(fakeMust(t, f, fakeLive).Tables))
				assert.NotContains(t, f.Names(), kept)
			case tt.swapped:
				assertHolds(t, f, fakeLive, fakeNew)
				assertHolds(t, f, kept, fakeOld)
			default:
				assertHolds(t, f, fakeLive, fakeOld)
				if d, ok := f.Database(kept); ok { // one kept within the same second, still there
					assert.NotEqual(t, fakeContent(fakeOld), fakeContent(d.Tables), "nothing kept: nothing was swapped")
				}
			}
			if slices.Contains(f.Names(), earlier) && tt.wantErr == nil {
				assert.Equal(t, []string{earlier}, fakeKeptNames(gotEarlier), "the earlier kept database is for the caller to drop")
			} else {
				assert.Empty(t, gotEarlier)
			}
			assertNoScratch(t, f)
			if tt.also != nil {
				tt.also(t, f)
			}
		})
	}
}

func fakeRows2(marker string) []fakedb.Table {
	return []fakedb.Table{{Name: "public.marker", Rows: []string{marker}}}
}

func fakeMust(t *testing.T, f *fakedb.DB, name string) fakedb.Database {
	t.Helper()
	d, ok := f.Database(name)
	require.True(t, ok, "database %s is there: %v", name, f.Names())
	return d
}

func fakeKeptNames(kept []pgbackup.Kept) []string {
	var out []string
	for _, k := range kept {
		out = append(out, k.Name)
	}
	return out
}

// TestFakeVerifyProtocol verifies a backup through every way the
// preparation fails: the live database is never touched, and the scratch
// database is dropped, pass or fail.
func TestFakeVerifyProtocol(t *testing.T) {
	passes := []fakeCase{
		{name: "the backup passes"},
		{
			name: "a dead run's scratch database is replaced",
			opts: []fakedb.Option{fakedb.WithDatabase(fakedb.Database{Name: fakeVerifyScratch, Sessions: []string{fakedb.DeadRun()}})},
		},
	}
	for _, tt := range append(passes, preparationFailures(fakeVerifyScratch)...) {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeServer(tt.opts...)
			st, e := fakeBackup(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.arrange != nil {
				tt.arrange(t, f, st, &e, cancel)
			}
			check, err := pgbackup.Verify(ctx, f, e, nil, nil)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.EqualValues(t, 7, check.Rows)
				assert.EqualValues(t, 2, check.LargeObjects)
				assert.Equal(t, 1, f.Count(fakedb.OpLoad, ""))
			} else {
				require.Error(t, err)
				tt.wantErr(t, err)
			}
			assertLiveUntouched(t, f)
			assertNoScratch(t, f, tt.leftAlone...)
			assert.Zero(t, f.Count(fakedb.OpQuery, "stevedore_restore_"), "a verify works on its own scratch database")
			if tt.also != nil {
				tt.also(t, f)
			}
		})
	}
}

// TestFakeUndoProtocol swaps the kept database back in, and fails to.
func TestFakeUndoProtocol(t *testing.T) {
	kept := pgbackup.KeptName(fakeLive, fakeAt)
	older := pgbackup.KeptName(fakeLive, fakeAt.Add(-time.Hour))
	parked := pgbackup.ScratchName(fakeLive, "old")
	later := fakeAt.Add(time.Hour)
	renameAway := `ALTER DATABASE "` + fakeLive + `" RENAME TO`
	renameIn := `RENAME TO "` + fakeLive + `"`
	tests := []struct {
		name    string
		opts    []fakedb.Option
		at      time.Time
		arrange func(f *fakedb.DB)
		back    string // the database swapped back in; "" when the undo fails
		keptNow string // what the undo keeps
		wantErr func(t *testing.T, err error)
		also    func(t *testing.T, f *fakedb.DB)
		// committed: the swap committed though an error is returned.
		committed bool
	}{
		{name: "the restore is undone", at: later, back: kept, keptNow: pgbackup.KeptName(fakeLive, later)},
		{
			name: "an undo within the second of the restore", at: fakeAt,
			back: kept, keptNow: pgbackup.KeptName(fakeLive, fakeAt.Add(time.Second)),
		},
		{
			name: "the newest of two kept databases comes back", at: later,
			opts: []fakedb.Option{fakedb.WithDatabase(fakeLiveDBNamed(older, fakeRows2("older")))},
			back: kept, keptNow: pgbackup.KeptName(fakeLive, later),
			also: func(t *testing.T, f *fakedb.DB) {
				assert.Equal(t, fakeContent(fakeRows2("older")), fakeContent(fakeMust(t, f, older).Tables), "the older one is untouched")
			},
		},
		{
			name: "an earlier stevedore's parked database comes back, accepting connections", at: later,
			opts: []fakedb.Option{fakedb.WithoutDatabase(kept), fakedb.WithDatabase(fakedb.Database{Name: parked, RefusesConnections: true, Tables: fakeOld})},
			back: parked, keptNow: pgbackup.KeptName(fakeLive, later),
		},
		{
			name: "with no live database, the kept one is renamed back", at: later,
			opts: []fakedb.Option{fakedb.WithoutDatabase(fakeLive)},
			back: kept,
		},
		{
			name: "a client reconnects: the swap is retried", at: later,
			arrange: func(f *fakedb.DB) {
				f.Inject(fakedb.Fault{Match: renameAway, Times: 1, Err: fakedb.ServerError("55006", `database "app" is being accessed by other users`)})
			},
			back: kept, keptNow: pgbackup.KeptName(fakeLive, later),
		},
		{
			name: "nothing to undo", at: later,
			opts: []fakedb.Option{fakedb.WithoutDatabase(kept)},
			wantErr: func(t *testing.T, err error) {
				assert.Equal(t, fakeLive, errorAs[*pgbackup.NothingToUndoError](t, err).Database)
			},
			also: func(t *testing.T, f *fakedb.DB) { assert.Zero(t, f.Count(fakedb.OpQuery, "RENAME")) },
		},
		{
			name: "listing the server fails", at: later,
			arrange: func(f *fakedb.DB) { f.FailOn("'databases'", fakedb.ConnectionLost()) },
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "", false) },
		},
		{
			name: "renaming the live database away fails", at: later,
			arrange: func(f *fakedb.DB) { f.FailOn(renameAway, fakedb.ServerError("42501", "must be owner of database app")) },
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "42501", false) },
		},
		{
			name: "renaming the kept database back fails", at: later,
			arrange: func(f *fakedb.DB) { f.FailOn(renameIn, fakedb.ServerError("XX000", "could not rename")) },
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "XX000", false) },
		},
		{
			// Never "the database was not changed": it was.
			name: "the commit's answer and the question whether it swapped are both lost", at: later,
			arrange: func(f *fakedb.DB) {
				f.Inject(fakedb.Fault{Match: "COMMIT", AfterCommit: true, Err: fakedb.ConnectionLost()})
				f.Inject(fakedb.Fault{Match: "count(*) FILTER (WHERE datname", Err: fakedb.ConnectionLost()})
			},
			wantErr: func(t *testing.T, err error) {
				unknown := errorAs[*pgbackup.SwapUnknownError](t, err)
				assert.Equal(t, kept, unknown.Incoming)
			},
			committed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// After a restore: the backup's data live, the old database kept.
			opts := append([]fakedb.Option{fakedb.WithDatabase(fakeLiveDB(fakeNew)), fakedb.WithDatabase(fakeLiveDBNamed(kept, fakeOld))}, tt.opts...)
			f := fakedb.New(fakeLive, opts...)
			before := f.Names()
			if tt.arrange != nil {
				tt.arrange(f)
			}
			back, keptNow, err := pgbackup.Undo(t.Context(), f, tt.at)
			switch {
			case tt.committed:
				require.Error(t, err)
				tt.wantErr(t, err)
				assertHolds(t, f, fakeLive, fakeOld)
				assertHolds(t, f, pgbackup.KeptName(fakeLive, tt.at), fakeNew)
			case tt.wantErr != nil:
				require.Error(t, err)
				tt.wantErr(t, err)
				assert.Equal(t, before, f.Names(), "no database was renamed")
				if slices.Contains(before, fakeLive) {
					assertHolds(t, f, fakeLive, fakeNew)
				}
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.back, back.Name)
				assertHolds(t, f, fakeLive, fakeOld)
				assert.NotContains(t, f.Names(), tt.back, "the kept database is the live one now")
				if tt.keptNow != "" {
					assert.Equal(t, tt.keptNow, keptNow)
					assertHolds(t, f, keptNow, fakeNew)
				} else {
					assert.NotContains(t, f.Names(), keptNow, "there was no live database to keep")
				}
			}
			assertNoScratch(t, f)
			if tt.also != nil {
				tt.also(t, f)
			}
		})
	}
}

// fakeLiveDBNamed is a database with the live database's own state.
func fakeLiveDBNamed(name string, tables []fakedb.Table) fakedb.Database {
	d := fakeLiveDB(tables)
	d.Name = name
	return d
}

// TestFakeRepairProtocol repairs what interrupted runs leave, and leaves
// what is in use alone.
func TestFakeRepairProtocol(t *testing.T) {
	newest := pgbackup.KeptName(fakeLive, fakeAt)
	older := pgbackup.KeptName(fakeLive, fakeAt.Add(-time.Hour))
	db := func(name string, sessions ...string) fakedb.Option {
		return fakedb.WithDatabase(fakedb.Database{Name: name, Sessions: sessions, Tables: fakeRows2(name)})
	}
	refusing := fakedb.WithDatabase(fakedb.Database{Name: fakeLive, RefusesConnections: true, ConnLimit: 50, Comment: &fakeComment, Tables: fakeOld})
	tests := []struct {
		name     string
		opts     []fakedb.Option
		arrange  func(t *testing.T, f *fakedb.DB)
		dropped  []string // the databases Repair drops
		repaired int      // the repairs it reports
		busy     int      // what it leaves alone, and says so
		refuses  bool     // the live database still refuses connections
		wantErr  func(t *testing.T, err error)
	}{
		{name: "a clean server is left as it is"},
		{name: "one kept database is the undo, not a leftover", opts: []fakedb.Option{db(newest)}},
		{name: "a dead restore's scratch database is dropped", opts: []fakedb.Option{db(fakeScratch, fakedb.DeadRun())}, dropped: []string{fakeScratch}, repaired: 1},
		{name: "a dead verify's scratch database is dropped", opts: []fakedb.Option{db(fakeVerifyScratch, fakedb.DeadRun())}, dropped: []string{fakeVerifyScratch}, repaired: 1},
		{name: "a scratch database no one uses is dropped", opts: []fakedb.Option{db(fakeScratch)}, dropped: []string{fakeScratch}, repaired: 1},
		{name: "a running restore's scratch database is left alone", opts: []fakedb.Option{db(fakeScratch, fakeOtherRun)}, busy: 1},
		{name: "a scratch database a client reads is left alone", opts: []fakedb.Option{db(fakeVerifyScratch, "psql")}, busy: 1},
		{
			name: "nothing is touched while another run holds the run lock",
			opts: []fakedb.Option{db(fakeScratch, fakedb.DeadRun()), db(older), db(newest)},
			arrange: func(t *testing.T, f *fakedb.DB) {
				release, err := pgbackup.LockServer(t.Context(), f.As(fakeOtherRun))
				require.NoError(t, err)
				t.Cleanup(release)
			},
			busy: 1,
		},
		{name: "of the kept databases only the newest stays", opts: []fakedb.Option{db(older), db(newest)}, dropped: []string{older}, repaired: 1},
		{name: "an older kept database a client reads is left alone", opts: []fakedb.Option{db(older, "psql"), db(newest)}, busy: 1},
		{
			name:    "a live database an interrupted swap left refusing connections accepts them again",
			opts:    []fakedb.Option{refusing, db(fakeScratch, fakedb.DeadRun())},
			dropped: []string{fakeScratch}, repaired: 2,
		},
		{name: "a live database refusing connections by the user's choice stays so", opts: []fakedb.Option{refusing}, refuses: true},
		{
			name:    "listing the server fails",
			opts:    []fakedb.Option{db(fakeScratch, fakedb.DeadRun())},
			arrange: func(_ *testing.T, f *fakedb.DB) { f.FailOn("'databases'", fakedb.ConnectionLost()) },
			wantErr: func(t *testing.T, err error) { assertExit(t, err, "", false) },
		},
		{
			name: "dropping a leftover fails",
			opts: []fakedb.Option{db(fakeScratch, fakedb.DeadRun())},
			arrange: func(_ *testing.T, f *fakedb.DB) {
				f.FailOn("DROP DATABASE", fakedb.ServerError("55006", "database is being accessed by other users"))
			},
			wantErr: func(t *testing.T, err error) {
				assertExit(t, err, "55006", false)
				assert.ErrorContains(t, err, "drop database "+fakeScratch)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakedb.New(fakeLive, append([]fakedb.Option{fakedb.WithDatabase(fakeLiveDB(fakeOld))}, tt.opts...)...)
			if tt.arrange != nil {
				tt.arrange(t, f)
			}
			before := f.Names()
			left, err := pgbackup.Repair(t.Context(), f)
			if tt.wantErr != nil {
				require.Error(t, err)
				tt.wantErr(t, err)
			} else {
				require.NoError(t, err)
			}
			assert.Len(t, left.Repaired, tt.repaired, "%q", left.Repaired)
			assert.Len(t, left.Busy, tt.busy, "%q", left.Busy)
			var want []string
			for _, n := range before {
				if !slices.Contains(tt.dropped, n) {
					want = append(want, n)
				}
			}
			assert.Equal(t, want, f.Names())
			for _, n := range f.Names() {
				if n != fakeLive && !strings.HasPrefix(n, "template") && n != "postgres" {
					assert.Equal(t, fakeContent(fakeRows2(n)), fakeContent(fakeMust(t, f, n).Tables), "%s is untouched", n)
				}
			}
			live := fakeMust(t, f, fakeLive)
			assert.Equal(t, fakeContent(fakeOld), fakeContent(live.Tables), "the live database's data is never touched")
			assert.Equal(t, tt.refuses, live.RefusesConnections)
			if tt.dropped == nil && tt.repaired == 0 && tt.wantErr == nil {
				assert.Zero(t, f.Count(fakedb.OpQuery, "DROP DATABASE")+f.Count(fakedb.OpQuery, "ALTER DATABASE"), "nothing to repair, no DDL")
			}
		})
	}
}

// A restore whose load fails and whose clean-up fails too leaves its
// scratch database; the next run's Repair drops it and the restore then
// succeeds.
func TestFakeFailedCleanupIsRepairedByTheNextRun(t *testing.T) {
	f := fakeServer()
	_, e := fakeBackup(t)
	f.Inject(fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item ", Err: fakedb.ConnectionLost()})
	f.Inject(fakedb.Fault{Match: `DROP DATABASE IF EXISTS "` + fakeScratch + `"`, Times: 1, Err: fakedb.ConnectionLost()})
	_, _, err := pgbackup.Restore(t.Context(), f, e, nil, nil)
	assertExit(t, err, "", false)
	assert.ErrorContains(t, err, "restore of b1 stopped", "the load's error, not the clean-up's")
	assert.Contains(t, f.Names(), fakeScratch, "the clean-up failed")
	assertHolds(t, f, fakeLive, fakeOld)

	left, err := pgbackup.Repair(t.Context(), f)
	require.NoError(t, err)
	require.Len(t, left.Repaired, 1)
	assert.Contains(t, left.Repaired[0], fakeScratch)
	assertNoScratch(t, f)

	f2 := fakeServer() // the load fault would fire again: a fresh server with the same state
	_, kept, err := pgbackup.Restore(t.Context(), f2, e, nil, nil)
	require.NoError(t, err)
	assertHolds(t, f2, fakeLive, fakeNew)
	assertHolds(t, f2, kept, fakeOld)
}

// TestFakeRestoreSequence pins the order of a restore's steps: the live
// database is touched only by the swap, after the check.
func TestFakeRestoreSequence(t *testing.T) {
	f := fakeServer()
	_, e := fakeBackup(t)
	_, kept, err := pgbackup.Restore(t.Context(), f, e, nil, nil)
	require.NoError(t, err)
	var steps []string
	for _, c := range f.Calls() {
		require.NoError(t, c.Err, "%s", c)
		switch {
		case c.Op == fakedb.OpLoad:
			steps = append(steps, "load into "+c.DB)
		case strings.Contains(c.SQL, "'databases'"):
			steps = append(steps, "list")
		case strings.HasPrefix(c.SQL, "CREATE DATABASE"):
			steps = append(steps, "create "+strings.Fields(c.SQL)[2])
		case strings.Contains(c.SQL, "pg_largeobject_metadata"):
			steps = append(steps, "count large objects in "+c.DB)
		case strings.HasPrefix(c.SQL, "DROP DATABASE"):
			steps = append(steps, "drop "+strings.Fields(c.SQL)[4])
		case strings.HasPrefix(c.SQL, "BEGIN;"):
			steps = append(steps, "swap")
		default:
			steps = append(steps, "? "+c.String())
		}
	}
	assert.Equal(t, []string{
		"list",
		`create "` + fakeScratch + `"`,
		"load into " + fakeScratch,
		"count large objects in " + fakeScratch,
		`drop "` + kept + `"`, // one kept within the same second
		"list",
		"swap",
	}, steps)
	swap := f.Calls()[len(f.Calls())-1].SQL
	assert.Contains(t, swap, `ALTER DATABASE "`+fakeScratch+`" CONNECTION LIMIT 50`, "the live database's own state is carried over")
	assert.Contains(t, swap, `COMMENT ON DATABASE "`+fakeScratch+`" IS 'the shop'`)
}

// TestFakeRunLock: a second run is refused while the first holds the lock.
func TestFakeRunLock(t *testing.T) {
	f := fakeServer()
	release, err := pgbackup.LockServer(t.Context(), f)
	require.NoError(t, err)
	_, err = pgbackup.LockServer(t.Context(), f.As(fakeOtherRun))
	assert.Equal(t, pgtarget.AppName(), errorAs[*pgbackup.BusyError](t, err).Holder)
	// This process's own lock does not stop its own restore.
	_, e := fakeBackup(t)
	_, _, err = pgbackup.Restore(t.Context(), f, e, nil, nil)
	require.NoError(t, err)
	release()
	other, err := pgbackup.LockServer(t.Context(), f.As(fakeOtherRun))
	require.NoError(t, err, "free once released")
	other()
}

// TestFakeBackupLeavesNothingOnFailure: a dump that fails or ends early
// makes no backup.
func TestFakeBackupLeavesNothingOnFailure(t *testing.T) {
	tests := []struct {
		name  string
		fault fakedb.Fault
		check func(t *testing.T, err error)
	}{
		{"pg_dump fails", fakedb.Fault{Op: fakedb.OpDump, After: 300, Err: fakedb.ConnectionLost()}, func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "pg_dump of")
		}},
		{"the dump ends early", fakedb.Fault{Op: fakedb.OpDump, After: 300}, func(t *testing.T, err error) {
			assert.EqualValues(t, 300, errorAs[*pgbackup.IncompleteDumpError](t, err).Bytes)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeServer()
			f.Inject(tt.fault)
			st, err := store.Open(t.TempDir())
			require.NoError(t, err)
			_, err = pgbackup.Backup(t.Context(), f, st, "b1", pgbackup.Options{})
			require.Error(t, err)
			tt.check(t, err)
			files, err := os.ReadDir(st.Dir)
			require.NoError(t, err)
			assert.Empty(t, files)
			assert.False(t, st.Exists("b1"))
		})
	}
}

// A stream cut short on its way (kubectl exec ends one early and still
// reports success) is dumped or loaded again, up to StreamAttempts times;
// any other failure is not.
func TestFakeCutStreamIsDoneAgain(t *testing.T) {
	cut := &pgtarget.TruncatedError{Via: "kubectl exec", Got: 300, Sent: -1}
	tests := []struct {
		name   string
		fault  fakedb.Fault
		op     fakedb.Op
		heard  []int // the attempts Retry heard of
		failed bool
	}{
		{"a dump cut once", fakedb.Fault{Op: fakedb.OpDump, Times: 1, Err: cut}, fakedb.OpDump, []int{2}, false},
		{"every dump cut", fakedb.Fault{Op: fakedb.OpDump, Err: cut}, fakedb.OpDump, []int{2, 3}, true},
		{"pg_dump fails", fakedb.Fault{Op: fakedb.OpDump, After: 300, Err: fakedb.ConnectionLost()}, fakedb.OpDump, nil, true},
		{"a load cut once", fakedb.Fault{Op: fakedb.OpLoad, Times: 1, Err: cut}, fakedb.OpLoad, []int{2}, false},
		{"every load cut", fakedb.Fault{Op: fakedb.OpLoad, Err: cut}, fakedb.OpLoad, []int{2, 3}, true},
		{"psql fails", fakedb.Fault{Op: fakedb.OpLoad, Match: "COPY public.item ", Err: fakedb.ConnectionLost()}, fakedb.OpLoad, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakeServer()
			_, e := fakeBackup(t)
			f.Inject(tt.fault)
			var heard []int
			retry := func(got *pgtarget.TruncatedError, attempt int) {
				assert.Same(t, cut, got)
				heard = append(heard, attempt)
			}
			var err error
			if tt.op == fakedb.OpDump {
				st, serr := store.Open(t.TempDir())
				require.NoError(t, serr)
				_, err = pgbackup.Backup(t.Context(), f, st, "b2", pgbackup.Options{Retry: retry})
				assert.Equal(t, !tt.failed, st.Exists("b2"))
			} else {
				_, _, err = pgbackup.Restore(t.Context(), f, e, nil, retry)
				want := fakeNew
				if tt.failed {
					want = fakeOld
				}
				assertHolds(t, f, fakeLive, want)
				assertNoScratch(t, f, fakeKept(f)...)
			}
			assert.Equal(t, tt.failed, err != nil, "%v", err)
			assert.Equal(t, tt.heard, heard)
			assert.Equal(t, len(tt.heard)+1, f.Count(tt.op, ""), "runs of %s", tt.op)
		})
	}
}

// A load cut short whose scratch database cannot be dropped is not loaded
// again beside it: the cut and the failed drop are both said.
func TestFakeCutLoadIsNotRetriedBesideAScratchThatStays(t *testing.T) {
	f := fakeServer()
	_, e := fakeBackup(t)
	f.Inject(fakedb.Fault{Op: fakedb.OpLoad, Err: &pgtarget.TruncatedError{Via: "kubectl exec", Got: 300, Sent: -1}})
	f.Inject(fakedb.Fault{Match: `DROP DATABASE IF EXISTS "` + fakeScratch + `"`, Times: 1, Err: fakedb.ConnectionLost()})
	retried := false
	_, _, err := pgbackup.Restore(t.Context(), f, e, nil, func(*pgtarget.TruncatedError, int) { retried = true })
	require.Error(t, err)
	assert.False(t, retried)
	assert.Equal(t, 1, f.Count(fakedb.OpLoad, ""))
	assert.ErrorContains(t, err, "the stream through kubectl exec ended after 300 bytes")
	assert.ErrorContains(t, err, "drop database "+fakeScratch)
	assertHolds(t, f, fakeLive, fakeOld)
}
