package pgbackup

import (
	"context"
	"errors"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Verify checks a backup end to end: a load into a scratch database on db's
// server, checksummed on the way and compared with what the backup holds.
// The scratch database is dropped afterwards, pass or fail.
func Verify(ctx context.Context, db pgtarget.Database, e store.Entry, p Progress, retry Retry) (Check, error) {
	scratch := ScratchName(db.Credentials().Database, roleVerify)
	check, err := loadScratch(ctx, db, e, scratch, p, retry)
	if err == nil {
		_ = dropDatabase(context.WithoutCancel(ctx), db, scratch)
	}
	return check, err
}

// BadBackup reports whether err is a verdict on the backup itself: its
// bytes are damaged, it is incomplete, it holds what a restore refuses, a
// statement of its own failed, or the server stored other rows than it
// holds. Anything else (the engine, the server, the network, a full disk,
// an interruption) says nothing about the backup.
func BadBackup(err error) bool {
	var (
		checksum   *ChecksumError
		damaged    *DamagedError
		incomplete *IncompleteDumpError
		mismatch   *MismatchError
		refused    *dumpscan.RefusedError
		exit       *pgtarget.ExitError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &checksum), errors.As(err, &damaged), errors.As(err, &incomplete), errors.As(err, &mismatch), errors.As(err, &refused):
		return true
	case errors.As(err, &exit):
		return exit.FromScript()
	}
	return false
}
