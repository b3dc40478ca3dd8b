package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

const lockFile = ".stevedore.lock"

// Holder is who holds a backup folder's lock, as written into the lock file.
type Holder struct {
	PID    int       `json:"pid"`
	Action string    `json:"action"`
	Since  time.Time `json:"since"`
}

// Lock is a held backup-folder lock.
type Lock struct{ fl *flock.Flock }

// Acquire takes the folder's lock for action, waiting up to wait for another
// run to release it. The lock is an OS file lock (flock(2), LockFileEx on
// Windows, through gofrs/flock): the kernel releases it when its holder dies,
// so a lock left by a killed run is taken over at once.
func (s *Store) Acquire(ctx context.Context, action string, wait time.Duration) (*Lock, error) {
	path := filepath.Join(s.Dir, lockFile)
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if !ok && err == nil {
		waitCtx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		ok, err = fl.TryLockContext(waitCtx, 50*time.Millisecond)
	}
	switch {
	case ok:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("lock %s: %w", path, err)
	default:
		var h Holder
		data, _ := os.ReadFile(path)
		_ = json.Unmarshal(data, &h)
		return nil, &BusyError{Path: path, Holder: h}
	}
	// Who holds it, for the next run's message; advisory, so a failure to
	// write it (Windows locks the bytes) only loses the detail.
	data, _ := json.Marshal(Holder{PID: os.Getpid(), Action: action, Since: time.Now()})
	_ = os.WriteFile(path, data, 0o600)
	return &Lock{fl: fl}, nil
}

// Release gives the lock up.
func (l *Lock) Release() {
	_ = os.Truncate(l.fl.Path(), 0)
	_ = l.fl.Unlock()
}
