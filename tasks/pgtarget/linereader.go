package pgtarget

import (
	"bytes"
	"context"
	"errors"
	"sync"
)

// lineReader is the standard output of a held session: it hands over the
// first line, then discards the rest until the session ends.
type lineReader struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	got   chan string // the first line
	ended chan struct{}
	err   error
	sent  bool
}

func newLineReader() *lineReader {
	return &lineReader{got: make(chan string, 1), ended: make(chan struct{})}
}

func (l *lineReader) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent {
		return len(p), nil
	}
	l.buf.Write(p)
	if line, _, ok := bytes.Cut(l.buf.Bytes(), []byte{'\n'}); ok {
		l.got <- string(bytes.TrimRight(line, "\r"))
		l.sent = true
	}
	return len(p), nil
}

// close says the session ended, with the error that ended it if any.
func (l *lineReader) close(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	close(l.ended)
}

// first waits for the first line, or for the session to end without one.
func (l *lineReader) first(ctx context.Context) (string, error) {
	select {
	case line := <-l.got:
		return line, nil
	case <-l.ended:
		select {
		case line := <-l.got:
			return line, nil
		default:
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return "", errors.Join(errors.New("the session ended before it answered"), l.err)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// wait waits for the session to end.
func (l *lineReader) wait() { <-l.ended }
