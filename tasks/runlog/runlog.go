// Package runlog keeps the log file every target appends to: what it ran and
// how it ended, while the terminal stays short.
package runlog

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// MaxSize is the size at which the log is rotated; Keep old logs are kept
// (stevedore.log.1 is the newest).
const (
	MaxSize = 1 << 20
	Keep    = 3
)

// Log is an open log file.
type Log struct{ f *os.File }

// Open opens path for appending, rotating it first when it has grown past
// MaxSize, and writes a line with the command that started.
func Open(path, command string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if info, err := os.Stat(path); err == nil && info.Size() >= MaxSize {
		rotate(path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &Log{f: f}
	fmt.Fprintf(f, "%s = %s\n", time.Now().Format(time.RFC3339), command)
	return l, nil
}

func rotate(path string) {
	for i := Keep - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", path, i), fmt.Sprintf("%s.%d", path, i+1))
	}
	_ = os.Rename(path, path+".1")
}

func (l *Log) Write(p []byte) (int, error) { return l.f.Write(p) }

// Close records how the target ended and closes the file.
func (l *Log) Close(err error, took time.Duration) {
	verdict := "ok"
	if err != nil {
		verdict = "failed: " + err.Error()
	}
	fmt.Fprintf(l.f, "%s = ended after %s: %s\n", time.Now().Format(time.RFC3339), took.Round(time.Millisecond), verdict)
	l.f.Close()
}
