package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const lockFile = ".stevedore.lock"

// Holder is who holds a backup folder's lock, as written into the lock file.
type Holder struct {
	PID    int       `json:"pid"`
	Action string    `json:"action"`
	Since  time.Time `json:"since"`
}

// BusyError says another run holds the folder.
type BusyError struct {
	Path   string
	Holder Holder
}

func (e *BusyError) Error() string {
	h := e.Holder
	if h.PID == 0 {
		return fmt.Sprintf("another stevedore run holds %s", e.Path)
	}
	return fmt.Sprintf("%s (pid %d, since %s) holds %s: wait for it to finish",
		h.Action, h.PID, h.Since.Local().Format("15:04:05"), e.Path)
}

// Lock is a held backup-folder lock.
type Lock struct{ f *os.File }

// Acquire takes the folder's lock for action, waiting up to wait for another
// run to release it. The lock is an flock(2) on a file: the kernel releases
// it when its holder dies, so a lock left by a killed run is taken over at once.
func (s *Store) Acquire(ctx context.Context, action string, wait time.Duration) (*Lock, error) {
	path := filepath.Join(s.Dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			var h Holder
			data, _ := os.ReadFile(path)
			_ = json.Unmarshal(data, &h)
			f.Close()
			return nil, &BusyError{Path: path, Holder: h}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	data, _ := json.Marshal(Holder{PID: os.Getpid(), Action: action, Since: time.Now()})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(data, 0)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() {
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}
