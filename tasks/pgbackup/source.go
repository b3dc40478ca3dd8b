package pgbackup

import (
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/stevedore-dev/stevedore/tasks/crypt"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// source is the plain SQL of a backup as it is read. Our backups are
// checksummed on the way: the file's bytes are hashed as the decompressor
// reads them, so the load needs no pass of its own over the file.
type source struct {
	io.Reader
	entry store.Entry
	total int64 // bytes of SQL, 0 when unknown
	file  *os.File
	hash  hash.Hash // nil for the old scripts' files, which have no record
	dec   *zstd.Decoder
	close func() error
}

func openSource(e store.Entry) (*source, error) {
	f, err := openFile(e.Path)
	if err != nil {
		return nil, err
	}
	s := &source{entry: e, file: f, close: f.Close}
	switch {
	case e.Record != nil:
		s.hash, s.total = sha256.New(), e.Record.DumpBytes
		var compressed io.Reader = io.TeeReader(f, s.hash)
		if e.Record.Encrypted() {
			if compressed, err = crypt.Decrypt(compressed, e.Identities, e.Name); err != nil {
				defer f.Close()
				var noKey *crypt.NoIdentityError
				if errors.As(err, &noKey) {
					return nil, err
				}
				// A header that does not parse: damaged, or another file.
				if sumErr := sumFile(e, f, s.hash); sumErr != nil {
					return nil, sumErr
				}
				return nil, &DamagedError{Name: e.Name, Err: err}
			}
		}
		// One goroutine: decoding stays in step with the hash of what it read.
		s.dec, err = zstd.NewReader(compressed, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, err
		}
		s.Reader = damageReader{r: s.dec, name: e.Name}
	case e.Legacy == ".sql.gz":
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s is not gzip: %w", e.Path, err)
		}
		s.Reader = damageReader{r: gz, name: e.Name}
	case e.Legacy == ".sql.zip":
		rc, size, err := zipEntry(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		s.Reader, s.total = damageReader{r: rc, name: e.Name}, size
		s.close = func() error { return errors.Join(rc.Close(), f.Close()) }
	default:
		s.Reader, s.total = f, e.Size
	}
	return s, nil
}

// damageReader reports a decompressor's failure as damage.
type damageReader struct {
	r    io.Reader
	name string
}

func (d damageReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = &DamagedError{Name: d.name, Err: err}
	}
	return n, err
}

// zipEntry opens the one .sql file inside an old script's .sql.zip.
func zipEntry(f *os.File) (io.ReadCloser, int64, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		return nil, 0, fmt.Errorf("not a zip archive: %w", err)
	}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, ".sql") {
			rc, err := zf.Open()
			return rc, int64(zf.UncompressedSize64), err
		}
	}
	return nil, 0, errors.New("it holds no .sql file")
}

// checkSum finishes hashing the file, however far the load read it, and
// compares it with the checksum and size the record holds.
func (s *source) checkSum() error {
	if s.hash == nil {
		return nil
	}
	s.dec.Close()
	return sumFile(s.entry, s.file, s.hash)
}

// sumFile hashes the rest of f into h, which has seen what was read of it
// so far, and compares the whole with e's record.
func sumFile(e store.Entry, f *os.File, h hash.Hash) error {
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", e.Path, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if size, err := f.Seek(0, io.SeekCurrent); err != nil || got != e.Record.SHA256 || size != e.Record.Size {
		return &ChecksumError{Name: e.Name, Want: e.Record.SHA256, Got: got}
	}
	return nil
}

func (s *source) Close() error {
	if s.dec != nil {
		s.dec.Close()
	}
	return s.close()
}

// sqlBytes is how much SQL a backup holds, when that can be known without
// reading it: for sizing its restore.
func sqlBytes(e store.Entry) int64 {
	switch {
	case e.Record != nil:
		return e.Record.DumpBytes
	case e.Legacy == ".sql":
		return e.Size
	case e.Legacy == ".sql.gz":
		return max(gzipSize(e.Path), e.Size)
	}
	s, err := openSource(e)
	if err != nil {
		return e.Size
	}
	defer s.Close()
	return max(s.total, e.Size)
}

// gzipSize reads the uncompressed size a gzip file records at its end
// (modulo 4 GiB, so a lower bound for larger ones).
func gzipSize(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadAt(b[:], max(0, fileSize(f)-4)); err != nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(b[:]))
}

func fileSize(f *os.File) int64 {
	info, err := f.Stat()
	if err != nil {
		return 0
	}
	return info.Size()
}

func openFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open backup: %w", err)
	}
	return f, nil
}

// SpaceNeeded estimates what loading e takes on the server: the database's
// size when the backup was taken (its record says), or else the SQL it
// holds, and a tenth more for the write-ahead log and index sorts.
func SpaceNeeded(e store.Entry) int64 {
	n := sqlBytes(e)
	if e.Record != nil && e.Record.DatabaseSize > 0 {
		n = e.Record.DatabaseSize
	}
	return n + n/10
}
