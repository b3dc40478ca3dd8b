package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"unsafe"
)

// Pending is a file being written under a hidden temporary name beside its
// final path. Only Commit makes it appear under the final name, complete.
type Pending struct {
	file    *os.File
	final   string
	direct  bool  // writes still go past the page cache
	written int64 // bytes written
	started int64 // bytes whose writeback has started
}

// writebackChunk is how often a Pending file starts the writeback of what
// it holds: the flush then overlaps the writing instead of following it.
const writebackChunk = 32 << 20

// directAlign is what a write past the page cache must be aligned to, in
// memory, length and file offset: 4 KiB covers the disks' logical blocks.
const directAlign = 4096

// PendingOption changes how CreatePending writes its file.
type PendingOption func(*pendingConfig)

type pendingConfig struct{ direct bool }

// Direct writes the file past the page cache (Linux's O_DIRECT) for as long
// as the writes are aligned, as those from a DirectBuffer of a multiple of
// 4 KiB are; the first other write, typically the tail, goes through the
// cache. For a large file that is read once later, like a pulled backup:
// it does not push what the machine is using out of memory, and Commit's
// flush finds almost nothing left to write. Where the file system or the
// platform has no such mode, the file is written as usual.
func Direct() PendingOption { return func(c *pendingConfig) { c.direct = true } }

// DirectBuffer returns a buffer of size bytes aligned for a Direct file.
func DirectBuffer(size int) []byte {
	b := make([]byte, size+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign)) % directAlign
	return b[skip : skip+size : skip+size]
}

// CreatePending opens a private temporary file that Commit will rename to final.
func CreatePending(final string, opts ...PendingOption) (*Pending, error) {
	var cfg pendingConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	dir, base := filepath.Split(final)
	tmp := filepath.Join(dir, "."+base+partialTag+strconv.Itoa(os.Getpid()))
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	direct := cfg.direct && directFlag != 0
	if direct {
		flags |= directFlag
	}
	f, err := os.OpenFile(tmp, flags, 0o600)
	if direct && errors.Is(err, syscall.EINVAL) { // a file system without direct I/O
		direct = false
		f, err = os.OpenFile(tmp, flags&^directFlag, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	return &Pending{file: f, final: final, direct: direct}, nil
}

// Write writes b: past the page cache while the file is Direct and b is
// aligned, otherwise through it, starting the writeback of every full chunk.
func (p *Pending) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if p.direct && !directAligned(b, p.written) {
		if err := p.leaveDirect(); err != nil {
			return 0, err
		}
	}
	n, err := p.file.Write(b)
	if p.direct && n == 0 && errors.Is(err, syscall.EINVAL) { // stricter alignment than 4 KiB
		if err := p.leaveDirect(); err != nil {
			return 0, err
		}
		n, err = p.file.Write(b)
	}
	p.written += int64(n)
	if !p.direct && p.written-p.started >= writebackChunk {
		startWriteback(p.file, p.started, p.written-p.started)
		p.started = p.written
	}
	return n, err
}

// leaveDirect sends the rest of the file through the page cache; what was
// written before is on the disk already.
func (p *Pending) leaveDirect() error {
	if err := clearDirect(p.file); err != nil {
		return fmt.Errorf("write %s: %w", p.final, err)
	}
	p.direct, p.started = false, p.written
	return nil
}

func directAligned(b []byte, offset int64) bool {
	return len(b)%directAlign == 0 && offset%directAlign == 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(b)))%directAlign == 0
}

// Commit flushes the file to disk, renames it to its final name and flushes
// the folder, so that after a crash the file is either whole or absent.
func (p *Pending) Commit() error {
	if err := p.file.Sync(); err != nil {
		p.Abort()
		return fmt.Errorf("flush %s: %w", p.final, err)
	}
	if err := p.file.Close(); err != nil {
		p.Abort()
		return fmt.Errorf("close %s: %w", p.final, err)
	}
	if err := os.Rename(p.file.Name(), p.final); err != nil {
		p.Abort()
		return fmt.Errorf("rename to %s: %w", p.final, err)
	}
	return syncDir(filepath.Dir(p.final))
}

// Abort removes the temporary file; safe to call after Commit.
func (p *Pending) Abort() {
	_ = p.file.Close()
	_ = os.Remove(p.file.Name())
}

// WriteFileAtomic writes data to path through a Pending file.
func WriteFileAtomic(path string, data []byte) error {
	p, err := CreatePending(path)
	if err != nil {
		return err
	}
	if _, err := p.Write(data); err != nil {
		p.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return p.Commit()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush folder %s: %w", dir, err)
	}
	return nil
}
