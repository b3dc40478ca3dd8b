package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
)

// File name parts. A backup is NAME.sql.zst (NAME.sql.zst.age when
// encrypted) with its record NAME.json; the record is written last, so a
// data file without one is not a backup.
const (
	dataExt     = ".sql.zst"
	sealedExt   = dataExt + ".age"
	recordExt   = ".json"
	partialTag  = ".partial-"
	failureMark = ".last-failure.json"
)

// The formats of our backups: a plain-format pg_dump compressed with zstd,
// and the same encrypted with age.
const (
	FormatPlainZstd    = "plain+zstd"
	FormatPlainZstdAge = "plain+zstd+age"
)

// DataFile is the file name of backup name's data.
func DataFile(name string, encrypted bool) string {
	if encrypted {
		return name + sealedExt
	}
	return name + dataExt
}

// RecordVersion is the version of the record's JSON schema.
const RecordVersion = 1

// Record is what a backup's JSON file says about it. The tables and their
// rows come from the dump's own bytes (package dumpscan).
type Record struct {
	Version       int              `json:"version"`
	Name          string           `json:"name"`
	File          string           `json:"file"`
	Format        string           `json:"format"`
	CreatedAt     time.Time        `json:"created_at"`
	DurationSec   float64          `json:"duration_seconds"`
	Source        string           `json:"source"`
	Database      string           `json:"database"`
	ServerVersion string           `json:"server_version"`
	Size          int64            `json:"size"`
	DumpBytes     int64            `json:"dump_bytes"`
	SHA256        string           `json:"sha256"`
	Tables        []dumpscan.Table `json:"tables"`
	LargeObjects  int64            `json:"large_objects"`
	DatabaseSize  int64            `json:"database_size,omitempty"` // bytes on the server when taken: what a restore needs there
	Recipients    []string         `json:"recipients,omitempty"`    // the age or SSH public keys an encrypted backup opens with
	Verify        *Verification    `json:"verify,omitempty"`
}

// Encrypted reports whether the data file is encrypted with age: what is
// stored (and checksummed) is then the age file, not the zstd stream.
func (r *Record) Encrypted() bool { return r.Format == FormatPlainZstdAge }

// Verification is the outcome of the last db:verify of a backup.
type Verification struct {
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail"`
}

// Rows returns the total rows of every table.
func (r *Record) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Rows
	}
	return n
}

// Entry is one backup in the folder: one of ours (with a Record) or a file
// the old scripts made (Legacy: .sql, .sql.gz, .sql.zip).
type Entry struct {
	Name   string
	Path   string // the data file
	When   time.Time
	Size   int64
	Record *Record // nil for legacy files
	Legacy string  // ".sql", ".sql.gz" or ".sql.zip" for the old scripts' files
	// Identities open an encrypted backup: the reader sets them (they
	// are the user's, not the folder's).
	Identities []age.Identity
}

// Verified reports the last verification: nil when never verified.
func (e Entry) Verified() *Verification {
	if e.Record == nil {
		return nil
	}
	return e.Record.Verify
}

// Good reports whether the entry can be counted on: not known to be broken.
func (e Entry) Good() bool {
	v := e.Verified()
	return v == nil || v.OK
}

// Store is a backup folder.
type Store struct{ Dir string }

// Open returns the store at dir, created if missing and made private to the
// user either way (a checkout brings the folder with git's 0755).
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make backup folder %s private: %w", dir, err)
	}
	return &Store{Dir: dir}, nil
}

// At returns the store at dir for reading only: nothing on disk changes,
// not even a missing folder (which lists as empty).
func At(dir string) *Store { return &Store{Dir: dir} }

// DataPath is where the data file a record describes lives.
func (s *Store) DataPath(r *Record) string {
	return filepath.Join(s.Dir, DataFile(r.Name, r.Encrypted()))
}

// RecordPath is where backup name's record lives.
func (s *Store) RecordPath(name string) string { return filepath.Join(s.Dir, name+recordExt) }

// Exists reports whether a backup (ours or legacy) already has this name.
func (s *Store) Exists(name string) bool {
	ours := []string{s.RecordPath(name), filepath.Join(s.Dir, DataFile(name, false)), filepath.Join(s.Dir, DataFile(name, true))}
	for _, p := range append(ours, s.legacyPaths(name)...) {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

var legacyExts = []string{".sql.zip", ".sql.gz", ".sql"}

func (s *Store) legacyPaths(name string) []string {
	var out []string
	for _, ext := range legacyExts {
		out = append(out, filepath.Join(s.Dir, name+ext))
	}
	return out
}

// ReadRecord reads backup name's record.
func (s *Store) ReadRecord(name string) (*Record, error) {
	data, err := os.ReadFile(s.RecordPath(name))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("record %s is damaged: %w", s.RecordPath(name), err)
	}
	return &r, nil
}

// WriteRecord writes r atomically: a reader sees the old record or the new
// one, never a part.
func (s *Store) WriteRecord(r *Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.RecordPath(r.Name), append(data, '\n'))
}

// List returns every backup in the folder, newest first. Leftovers of
// interrupted runs (partial files, data without a record) are not listed.
func (s *Store) List() ([]Entry, error) {
	dirents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read backup folder: %w", err)
	}
	var out []Entry
	seen := map[string]bool{}
	for _, d := range dirents {
		n := d.Name()
		if d.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, recordExt) {
			continue
		}
		name := strings.TrimSuffix(n, recordExt)
		rec, err := s.ReadRecord(name)
		if err != nil || rec.Name != name {
			continue // a damaged record makes no backup; db:list must still work
		}
		info, err := os.Stat(s.DataPath(rec))
		if err != nil {
			continue
		}
		seen[name] = true
		out = append(out, Entry{Name: name, Path: s.DataPath(rec), When: rec.CreatedAt, Size: info.Size(), Record: rec})
	}
	for _, d := range dirents {
		n := d.Name()
		if d.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		for _, ext := range legacyExts {
			name, ok := strings.CutSuffix(n, ext)
			if !ok || seen[name] {
				continue
			}
			info, err := d.Info()
			if err != nil {
				break
			}
			when, ok := TimeFromName(name)
			if !ok {
				when = info.ModTime()
			}
			seen[name] = true
			out = append(out, Entry{Name: name, Path: filepath.Join(s.Dir, n), When: when, Size: info.Size(), Legacy: ext})
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].When.After(out[j].When) })
	return out, nil
}

// Find returns the backup called name.
func (s *Store) Find(name string) (Entry, error) {
	if err := ValidateName(name); err != nil {
		return Entry{}, err
	}
	all, err := s.List()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range all {
		if e.Name == name {
			return e, nil
		}
	}
	return Entry{}, &NotFoundError{Name: name, Dir: s.Dir}
}

// SafetyPrefix starts the names of the safety backups db:restore takes.
const SafetyPrefix = "pre-restore"

// Restorable reports whether the entry may be "the latest good backup": not
// known to be broken, and not a restore's safety backup (restoring "the
// latest" twice must not undo the first restore; safety backups are
// restored by name).
func (e Entry) Restorable() bool {
	return e.Good() && !strings.HasPrefix(e.Name, SafetyPrefix+"_")
}

// NewestGood returns the first Restorable entry of entries, newest first
// as List returns them: the one db:restore -latest restores, retention
// never deletes and the doctor judges the age of.
func NewestGood(entries []Entry) (Entry, bool) {
	for _, e := range entries {
		if e.Restorable() {
			return e, true
		}
	}
	return Entry{}, false
}

// Latest returns the newest good backup (see NewestGood).
func (s *Store) Latest() (Entry, error) {
	all, err := s.List()
	if err != nil {
		return Entry{}, err
	}
	if e, ok := NewestGood(all); ok {
		return e, nil
	}
	return Entry{}, &NoBackupsError{Dir: s.Dir}
}

// CleanLeftovers removes what interrupted runs left: the hidden temporary
// files of CreatePending, and data files whose record was never written.
// Call it holding the lock.
func (s *Store) CleanLeftovers() ([]string, error) {
	dirents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, d := range dirents {
		n := d.Name()
		if d.IsDir() || !(pendingPattern.MatchString(n) || s.orphan(n)) {
			continue
		}
		if err := os.Remove(filepath.Join(s.Dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, n)
	}
	return removed, nil
}

// orphan reports whether file n is the data of a backup whose record was
// never written.
func (s *Store) orphan(n string) bool {
	for _, ext := range []string{sealedExt, dataExt} {
		if name, ok := strings.CutSuffix(n, ext); ok {
			return !exists(s.RecordPath(name))
		}
	}
	return false
}

// pendingPattern matches the names CreatePending gives its temporary files.
var pendingPattern = regexp.MustCompile(`^\..+` + regexp.QuoteMeta(partialTag) + `[0-9]+$`)

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Failure is the mark a failed backup leaves so that pruning waits for a good one.
type Failure struct {
	At    time.Time `json:"at"`
	Name  string    `json:"name"`
	Error string    `json:"error"`
}

// MarkFailure records that a backup failed.
func (s *Store) MarkFailure(f Failure) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(s.Dir, failureMark), data)
}

// ClearFailure removes the mark after a good backup.
func (s *Store) ClearFailure() error {
	err := os.Remove(filepath.Join(s.Dir, failureMark))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// LastFailure returns the mark of the last failed backup, if the last backup failed.
func (s *Store) LastFailure() (*Failure, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, failureMark))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f Failure
	if err := json.Unmarshal(data, &f); err != nil {
		return &Failure{Error: "unreadable failure mark"}, nil
	}
	return &f, nil
}
