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

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/internal/iocount"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Backup dumps db into st under name and returns its record. The data file
// appears under its name only once complete and flushed, and the record
// (what makes it a backup) is written after it. On any failure nothing is
// left that looks like a backup. progress, if not nil, sees the dump's bytes.
func Backup(ctx context.Context, db pgtarget.Database, st *store.Store, name string, progress io.Writer) (*store.Record, error) {
	if st.Exists(name) {
		return nil, &ExistsError{Name: name}
	}
	start := time.Now()
	// The database's size sizes a later restore; asked while the dump runs.
	dbSize := make(chan int64, 1)
	go func() { dbSize <- databaseSize(ctx, db) }()
	data, err := store.CreatePending(st.DataPath(name))
	if err != nil {
		return nil, err
	}
	defer data.Abort()

	hash := sha256.New()
	size := &iocount.Writer{}
	enc, err := zstd.NewWriter(io.MultiWriter(data, hash, size), encoderOptions...)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	scan := &dumpscan.Scanner{}
	sinks := []io.Writer{scan, enc}
	if progress != nil {
		sinks = append(sinks, progress)
	}
	if err := db.Dump(ctx, io.MultiWriter(sinks...)); err != nil {
		return nil, fmt.Errorf("pg_dump of %s: %w", db.Describe(), err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("compress: %w", err)
	}
	if !scan.Complete() {
		return nil, &IncompleteDumpError{Bytes: scan.Bytes()}
	}
	if err := data.Commit(); err != nil {
		return nil, err
	}
	rec := &store.Record{
		Version:       store.RecordVersion,
		Name:          name,
		File:          name + ".sql.zst",
		Format:        store.FormatPlainZstd,
		CreatedAt:     start.UTC(),
		DurationSec:   time.Since(start).Seconds(),
		Source:        db.Describe(),
		Database:      db.Credentials().Database,
		ServerVersion: scan.ServerVersion(),
		Size:          size.N,
		DumpBytes:     scan.Bytes(),
		SHA256:        hex.EncodeToString(hash.Sum(nil)),
		Tables:        scan.Tables(),
		LargeObjects:  scan.LargeObjects(),
		DatabaseSize:  <-dbSize,
	}
	if err := st.WriteRecord(rec); err != nil {
		return nil, fmt.Errorf("write the record of %s: %w", name, err)
	}
	return rec, nil
}

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
// holds. Legacy backups have no record and pass.
func CheckSum(e store.Entry) error {
	s, err := openSource(e)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.checkSum()
}
