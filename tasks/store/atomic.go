package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Pending is a file being written under a hidden temporary name beside its
// final path. Only Commit makes it appear under the final name, complete.
type Pending struct {
	*os.File
	final   string
	written int64 // bytes written
	started int64 // bytes whose writeback has started
}

// writebackChunk is how often a Pending file starts the writeback of what
// it holds: the flush then overlaps the writing instead of following it.
const writebackChunk = 32 << 20

// Write writes p, starting the writeback of every full chunk.
func (p *Pending) Write(b []byte) (int, error) {
	n, err := p.File.Write(b)
	p.written += int64(n)
	if p.written-p.started >= writebackChunk {
		startWriteback(p.File, p.started, p.written-p.started)
		p.started = p.written
	}
	return n, err
}

// CreatePending opens a private temporary file that Commit will rename to final.
func CreatePending(final string) (*Pending, error) {
	dir, base := filepath.Split(final)
	tmp := filepath.Join(dir, "."+base+partialTag+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	return &Pending{File: f, final: final}, nil
}

// Commit flushes the file to disk, renames it to its final name and flushes
// the folder, so that after a crash the file is either whole or absent.
func (p *Pending) Commit() error {
	if err := p.Sync(); err != nil {
		p.Abort()
		return fmt.Errorf("flush %s: %w", p.final, err)
	}
	if err := p.Close(); err != nil {
		p.Abort()
		return fmt.Errorf("close %s: %w", p.final, err)
	}
	if err := os.Rename(p.Name(), p.final); err != nil {
		p.Abort()
		return fmt.Errorf("rename to %s: %w", p.final, err)
	}
	return syncDir(filepath.Dir(p.final))
}

// Abort removes the temporary file; safe to call after Commit.
func (p *Pending) Abort() {
	_ = p.Close()
	_ = os.Remove(p.Name())
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
