// Package pgbackup takes, checks and restores backups of a PostgreSQL
// database. A backup is a plain pg_dump compressed with zstd on the fly,
// hashed as it is written, and described by a record built from the dump's
// own bytes. A restore loads the backup into a scratch database beside the
// live one, checks it against the record, and only then swaps the two, so a
// failed restore leaves the live database exactly as it was.
package pgbackup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/stevedore-dev/stevedore/tasks/crypt"
	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/internal/iocount"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Options are how a backup is taken.
type Options struct {
	Progress io.Writer         // if not nil, sees the dump's bytes
	To       []crypt.Recipient // encrypt to these recipients; none: not encrypted
	Retry    Retry             // if not nil, hears of a dump taken again
}

// Backup dumps db into st under name and returns its record. The data file
// appears under its name only once complete and flushed, and the record
// (what makes it a backup) is written after it. On any failure nothing is
// left that looks like a backup. Encrypted, the dump is compressed and
// encrypted on its way to the file, and the checksum covers what is stored.
func Backup(ctx context.Context, db pgtarget.Database, st *store.Store, name string, opt Options) (*store.Record, error) {
	if st.Exists(name) {
		return nil, &ExistsError{Name: name}
	}
	start := time.Now()
	// The database's size sizes a later restore; asked while the dump runs.
	dbSize := make(chan int64, 1)
	go func() { dbSize <- databaseSize(ctx, db) }()
	rec := &store.Record{Version: store.RecordVersion, Name: name, Format: store.FormatPlainZstd}
	if len(opt.To) > 0 {
		rec.Format, rec.Recipients = store.FormatPlainZstdAge, crypt.Keys(opt.To)
	}
	rec.File = store.DataFile(name, rec.Encrypted())
	if err := retryCut(ctx, opt.Retry, func() error { return dump(ctx, db, st, rec, opt) }); err != nil {
		return nil, err
	}
	rec.CreatedAt, rec.DurationSec = start.UTC(), time.Since(start).Seconds()
	rec.Source, rec.Database, rec.DatabaseSize = db.Describe(), db.Credentials().Database, <-dbSize
	if err := st.WriteRecord(rec); err != nil {
		return nil, fmt.Errorf("write the record of %s: %w", name, err)
	}
	return rec, nil
}

// dump writes rec's data file from one run of pg_dump, through compression
// (and encryption), and fills in what the record says of its content. The
// file takes its name only once the dump is proven whole.
func dump(ctx context.Context, db pgtarget.Database, st *store.Store, rec *store.Record, opt Options) error {
	data, err := store.CreatePending(st.DataPath(rec))
	if err != nil {
		return err
	}
	defer data.Abort()

	hash := sha256.New()
	size := &iocount.Writer{}
	var stored io.Writer = io.MultiWriter(data, hash, size)
	sealed := io.WriteCloser(nopCloser{stored})
	if rec.Encrypted() {
		if sealed, err = crypt.Encrypt(stored, opt.To); err != nil {
			return err
		}
	}
	enc, err := zstd.NewWriter(sealed, encoderOptions...)
	if err != nil {
		return err
	}
	defer enc.Close()
	scan := &dumpscan.Scanner{}
	sinks := []io.Writer{scan, enc}
	if opt.Progress != nil {
		sinks = append(sinks, opt.Progress)
	}
	if err := db.Dump(ctx, io.MultiWriter(sinks...)); err != nil {
		return fmt.Errorf("pg_dump of %s: %w", db.Describe(), err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := sealed.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if !scan.Complete() {
		return &IncompleteDumpError{Bytes: scan.Bytes()}
	}
	if err := data.Commit(); err != nil {
		return err
	}
	rec.ServerVersion = scan.ServerVersion()
	rec.Size, rec.DumpBytes, rec.SHA256 = size.N, scan.Bytes(), hex.EncodeToString(hash.Sum(nil))
	rec.Tables, rec.LargeObjects = scan.Tables(), scan.LargeObjects()
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// databaseSize returns the size of db's database, or 0 when it cannot say.
func databaseSize(ctx context.Context, db pgtarget.Database) int64 {
	out, err := db.Query(ctx, db.Credentials().Database, "SELECT pg_database_size(current_database())")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	return n
}

// encoderOptions trade a little size for speed: zstd's fastest level with
// entropy coding of literals kept on is about as small as its default level
// on dumps (text and hex-escaped bytea) at half the CPU, and on two cores the
// CPU is shared with pg_dump and the server (measured by `go tool mage bench`).
var encoderOptions = []zstd.EOption{
	zstd.WithEncoderLevel(zstd.SpeedFastest),
	zstd.WithAllLitEntropyCompression(true),
}

// CheckSum compares a backup's file with the checksum and size its record
// holds: what is stored, so an encrypted backup is checked without its key.
// Legacy backups have no record and pass.
func CheckSum(e store.Entry) error {
	if e.Record == nil {
		return nil
	}
	f, err := openFile(e.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	return sumFile(e, f, sha256.New())
}

// Openable reports whether the backup can be read as it is: an encrypted one
// needs an identity among its recipients. Asked before any work starts.
func Openable(e store.Entry) error {
	s, err := openSource(e)
	if err != nil {
		return err
	}
	return s.Close()
}
