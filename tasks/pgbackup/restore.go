package pgbackup

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Roles of the databases stevedore makes beside the live one.
const (
	roleRestore = "restore"
	roleVerify  = "verify"
	roleOld     = "old"
)

// ScratchName names the database with role beside live. PostgreSQL cuts
// identifiers at 63 bytes, so a name built by appending to live could
// collide with live itself; this one is short and fixed in length, and a
// hash keeps the scratch databases of different live ones apart.
func ScratchName(live, role string) string {
	sum := sha256.Sum256([]byte(live))
	return "stevedore_" + role + "_" + hex.EncodeToString(sum[:6])
}

// MismatchError says a restored database differs from what its backup recorded.
type MismatchError struct{ Diffs []string }

func (e *MismatchError) Error() string {
	shown := e.Diffs
	if len(shown) > 3 {
		shown = append(shown[:3:3], fmt.Sprintf("and %d more", len(e.Diffs)-3))
	}
	return "the restored data differs from the backup: " + strings.Join(shown, "; ")
}

// Check is what a verification found.
type Check struct {
	Tables       int
	Rows         int64
	LargeObjects int64
}

// Verify checks a backup end to end: its checksum, then a restore into a
// scratch database on db's server, compared table by table with what the
// backup holds. The scratch database is dropped afterwards, pass or fail.
func Verify(ctx context.Context, db pgtarget.Database, e store.Entry, progress io.Writer) (Check, error) {
	scratch := ScratchName(db.Credentials().Database, roleVerify)
	defer dropDatabase(context.WithoutCancel(ctx), db, scratch)
	return loadChecked(ctx, db, e, scratch, progress)
}

// Restore replaces db's database with backup e: Prepare, then Swap.
func Restore(ctx context.Context, db pgtarget.Database, e store.Entry, progress io.Writer) (Check, error) {
	check, err := Prepare(ctx, db, e, progress)
	if err != nil {
		return check, err
	}
	return check, Swap(ctx, db)
}

// Prepare loads backup e into a scratch database beside db's and checks it
// against what the backup holds. The live database is not touched; on
// failure the scratch database is dropped.
func Prepare(ctx context.Context, db pgtarget.Database, e store.Entry, progress io.Writer) (Check, error) {
	scratch := ScratchName(db.Credentials().Database, roleRestore)
	check, err := loadChecked(ctx, db, e, scratch, progress)
	if err != nil {
		Discard(ctx, db)
	}
	return check, err
}

// Discard drops a prepared scratch database that will not be swapped in.
func Discard(ctx context.Context, db pgtarget.Database) {
	dropDatabase(context.WithoutCancel(ctx), db, ScratchName(db.Credentials().Database, roleRestore))
}

// Swap makes the prepared database the live one, by renaming both in one
// transaction: until then the live database is untouched, so a failure
// before it leaves the data exactly as it was. Sessions connected to the
// live database are ended.
func Swap(ctx context.Context, db pgtarget.Database) error {
	if err := swap(ctx, db, ScratchName(db.Credentials().Database, roleRestore)); err != nil {
		Discard(ctx, db)
		return err
	}
	return nil
}

// loadChecked loads backup e into a new database scratch and compares the
// result with the tables and rows the dump itself holds.
func loadChecked(ctx context.Context, db pgtarget.Database, e store.Entry, scratch string, progress io.Writer) (Check, error) {
	if err := CheckSum(e); err != nil {
		return Check{}, err
	}
	src, err := OpenDump(e)
	if err != nil {
		return Check{}, err
	}
	defer src.Close()
	if err := createLike(ctx, db, scratch); err != nil {
		return Check{}, err
	}
	scan := &dumpscan.Scanner{}
	var r io.Reader = io.TeeReader(src, scan)
	if progress != nil {
		r = io.TeeReader(r, progress)
	}
	copied, err := db.Load(ctx, scratch, r)
	if err != nil {
		return Check{}, fmt.Errorf("restore of %s stopped: %w", e.Name, err)
	}
	// The script may end before the reader does (psql stops at \q); read
	// the rest so the checks see everything.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return Check{}, fmt.Errorf("read %s: %w", e.Name, err)
	}
	if !scan.Complete() {
		return Check{}, &IncompleteDumpError{Bytes: scan.Bytes()}
	}
	want := scan.Tables()
	if e.Record != nil && !sameTables(want, e.Record.Tables) {
		return Check{}, &MismatchError{Diffs: []string{"the dump's tables differ from its record"}}
	}
	return compare(ctx, db, scratch, want, copied, scan.LargeObjects())
}

func sameTables(a, b []dumpscan.Table) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// compare checks, table by table, that the server stored (per psql's COPY
// command tags) the rows the dump holds, and counts the large objects.
func compare(ctx context.Context, db pgtarget.Database, dbname string, want []dumpscan.Table, copied []int64, wantLOs int64) (Check, error) {
	check := Check{Tables: len(want), LargeObjects: wantLOs}
	var diffs []string
	if len(copied) != len(want) {
		diffs = append(diffs, fmt.Sprintf("the server loaded %d tables, the backup has %d", len(copied), len(want)))
	}
	for i, t := range want {
		check.Rows += t.Rows
		if i < len(copied) && copied[i] != t.Rows {
			diffs = append(diffs, fmt.Sprintf("%s: %d rows stored, the backup has %d", t.Name, copied[i], t.Rows))
		}
	}
	out, err := db.Query(ctx, dbname, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata")
	if err != nil {
		return check, fmt.Errorf("count large objects in the restored database: %w", err)
	}
	if got, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil || got != wantLOs {
		diffs = append(diffs, fmt.Sprintf("large objects: %s, the backup has %d", strings.TrimSpace(out), wantLOs))
	}
	if len(diffs) > 0 {
		return check, &MismatchError{Diffs: diffs}
	}
	return check, nil
}

// maintenanceDB is a database to run CREATE, DROP and RENAME DATABASE from:
// never the one being renamed.
func maintenanceDB(live string) string {
	if live == "postgres" {
		return "template1"
	}
	return "postgres"
}

// createLike creates an empty database name with the live database's owner,
// encoding and locale, dropping a leftover of an interrupted run first.
func createLike(ctx context.Context, db pgtarget.Database, name string) error {
	live := db.Credentials().Database
	dropDatabase(ctx, db, name)
	out, err := db.Query(ctx, maintenanceDB(live), fmt.Sprintf(
		`SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = %s`,
		pgtarget.QuoteLiteral(live)))
	if err != nil {
		return fmt.Errorf("read the settings of database %s: %w", live, err)
	}
	f := strings.Split(strings.TrimSpace(out), "\t")
	if len(f) != 4 {
		return fmt.Errorf("database %s not found on %s", live, db.Describe())
	}
	_, err = db.Query(ctx, maintenanceDB(live), fmt.Sprintf(
		`CREATE DATABASE %s WITH TEMPLATE template0 OWNER %s ENCODING %s LC_COLLATE %s LC_CTYPE %s`,
		pgtarget.QuoteIdent(name), pgtarget.QuoteIdent(f[0]), pgtarget.QuoteLiteral(f[1]),
		pgtarget.QuoteLiteral(f[2]), pgtarget.QuoteLiteral(f[3])))
	if err != nil {
		return fmt.Errorf("create scratch database %s: %w", name, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, db pgtarget.Database, name string) {
	_, _ = db.Query(ctx, maintenanceDB(db.Credentials().Database),
		fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, pgtarget.QuoteIdent(name)))
}

// swap makes scratch the live database: new connections to the live one are
// refused, its sessions ended, then both renames commit together.
func swap(ctx context.Context, db pgtarget.Database, scratch string) error {
	live := db.Credentials().Database
	old := ScratchName(live, roleOld)
	maint := maintenanceDB(live)
	dropDatabase(ctx, db, old)
	// Refusing new connections commits before the sessions are ended, so a
	// client that reconnects at once cannot slip in before the rename.
	_, err := db.Query(ctx, maint, fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS false`, pgtarget.QuoteIdent(live)))
	if err == nil {
		_, err = db.Query(ctx, maint, fmt.Sprintf(
			`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()`,
			pgtarget.QuoteLiteral(live)))
	}
	if err == nil {
		_, err = db.Query(ctx, maint, fmt.Sprintf(
			`BEGIN; ALTER DATABASE %s RENAME TO %s; ALTER DATABASE %s RENAME TO %s; COMMIT`,
			pgtarget.QuoteIdent(live), pgtarget.QuoteIdent(old), pgtarget.QuoteIdent(scratch), pgtarget.QuoteIdent(live)))
	}
	if err != nil && swapped(context.WithoutCancel(ctx), db, maint, old, scratch) {
		err = nil // the renames committed; only their answer was lost
	}
	if err != nil {
		_, _ = db.Query(context.WithoutCancel(ctx), maint, fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS true`, pgtarget.QuoteIdent(live)))
		return fmt.Errorf("swap the restored database in: %w", err)
	}
	dropDatabase(context.WithoutCancel(ctx), db, old)
	return nil
}

// swapped asks the server whether the renames committed: the old database
// exists under its new name and the scratch one no longer does.
func swapped(ctx context.Context, db pgtarget.Database, maint, old, scratch string) bool {
	out, err := db.Query(ctx, maint, fmt.Sprintf(`SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN (%s, %s)`,
		pgtarget.QuoteLiteral(old), pgtarget.QuoteLiteral(scratch)))
	return err == nil && strings.TrimSpace(out) == old
}

// OpenDump returns the plain SQL of a backup: ours (zstd) or the old
// scripts' (.sql, .sql.gz, .sql.zip with one .sql inside).
func OpenDump(e store.Entry) (io.ReadCloser, error) {
	f, err := openFile(e.Path)
	if err != nil {
		return nil, err
	}
	switch {
	case e.Record != nil:
		dec, err := zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		return readCloser{dec.IOReadCloser(), f}, nil
	case e.Legacy == ".sql.gz":
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s is not gzip: %w", e.Path, err)
		}
		return readCloser{gz, f}, nil
	case e.Legacy == ".sql.zip":
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		zr, err := zip.NewReader(f, info.Size())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s is not a zip archive: %w", e.Path, err)
		}
		for _, zf := range zr.File {
			if strings.HasSuffix(zf.Name, ".sql") {
				rc, err := zf.Open()
				if err != nil {
					f.Close()
					return nil, err
				}
				return readCloser{rc, f}, nil
			}
		}
		f.Close()
		return nil, fmt.Errorf("%s holds no .sql file", e.Path)
	default:
		return f, nil
	}
}

type readCloser struct {
	io.ReadCloser
	file io.Closer
}

func (r readCloser) Close() error {
	err := r.ReadCloser.Close()
	return errors.Join(err, r.file.Close())
}

func openFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open backup: %w", err)
	}
	return f, nil
}
