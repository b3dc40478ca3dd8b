package dbops

import (
	"context"
	"errors"
	"fmt"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// FailedBackupError stops pruning after a failed backup: the old backups may
// be all there is.
type FailedBackupError struct{ F store.Failure }

func (e *FailedBackupError) Error() string {
	return fmt.Sprintf("the last backup (%s, at %s) failed: %s; nothing is pruned until a backup succeeds",
		e.F.Name, e.F.At.Local().Format("2006-01-02 15:04:05"), e.F.Error)
}

// Next takes a backup that succeeds.
func (e *FailedBackupError) Next() string { return "go tool mage db:backup" }

// ChoiceNeededError asks for -name or -latest where no one can answer a menu.
type ChoiceNeededError struct{}

func (*ChoiceNeededError) Error() string {
	return "which backup? pass -name=NAME or -latest (no terminal to show a menu on)"
}

// Next lists the names.
func (*ChoiceNeededError) Next() string { return "go tool mage db:list" }

// ConfirmNeededError asks for -yes where no one can confirm.
type ConfirmNeededError struct{ Command string }

func (e *ConfirmNeededError) Error() string {
	return "this replaces the database; without a terminal to confirm on, pass -yes"
}

// Next is the same command, confirmed.
func (e *ConfirmNeededError) Next() string { return e.Command + " -yes" }

// RestoreError is a failed restore or undo: the database is as it was,
// unless the swap's outcome is unknown (pgbackup.SwapUnknownError), which
// is then what it says.
type RestoreError struct {
	Err   error
	Name  string
	Flags string // the location flags, for the next command
}

func (e *RestoreError) Error() string {
	var unknown *pgbackup.SwapUnknownError
	if errors.As(e.Err, &unknown) {
		return unknown.Error() // it may have changed: that is what it says
	}
	if errors.Is(e.Err, context.Canceled) {
		return "interrupted; the database was not changed" // Ctrl-C, said as a person would
	}
	return fmt.Sprintf("%v; the database was not changed", e.Err)
}

func (e *RestoreError) Unwrap() error { return e.Err }

// Next is another backup when this one is bad, else the same restore once
// the cause is fixed.
func (e *RestoreError) Next() string {
	var unknown *pgbackup.SwapUnknownError
	if pgbackup.BadBackup(e.Err) || errors.As(e.Err, &unknown) {
		return "go tool mage db:list" + e.Flags
	}
	return "go tool mage db:restore -name=" + e.Name + e.Flags
}

// UnfinishedError is a verify that the environment stopped: no verdict on
// the backup.
type UnfinishedError struct {
	Name  string
	Err   error
	Flags string // the location flags, for the next command
}

func (e *UnfinishedError) Error() string {
	return fmt.Sprintf("the verification of %s could not finish: %v; that says nothing about the backup, whose record is unchanged", e.Name, e.Err)
}

func (e *UnfinishedError) Unwrap() error { return e.Err }

// Next runs it again, once the cause is fixed.
func (e *UnfinishedError) Next() string { return "go tool mage db:verify -name=" + e.Name + e.Flags }

// NoRoomError says the server cannot hold the copy a restore or verify
// loads, or a snapshot.
type NoRoomError struct {
	Free, Need int64
	What       string // "loading backup_… beside the live database"
}

func (e *NoRoomError) Error() string {
	return fmt.Sprintf("the server has %s free where its data lives, and %s needs about %s: free space on the server first (nothing was changed)",
		term.Bytes(e.Free), e.What, term.Bytes(e.Need))
}

// ChangeFailedError says a guarded change failed and what became of the
// database.
type ChangeFailedError struct {
	What       string
	Err        error
	RolledBack bool   // the database is back as before the change
	Snapshot   string // the snapshot taken before it, when not rolled back
	Flags      string
}

func (e *ChangeFailedError) Error() string {
	switch {
	case e.RolledBack:
		return fmt.Sprintf("%s failed (%v): rolled back, the database is as before it", e.What, e.Err)
	case errors.Is(e.Err, context.Canceled):
		return fmt.Sprintf("%s was interrupted (it may still be running in its container), so the database was not rolled back: snapshot %s holds it as before", e.What, e.Snapshot)
	}
	return fmt.Sprintf("%s failed (%v), and the database was not rolled back: snapshot %s holds it as before", e.What, e.Err, e.Snapshot)
}

func (e *ChangeFailedError) Unwrap() error { return e.Err }

// Next shows the rollback's undo (the failed state, to look at), or the
// rollback still to do.
func (e *ChangeFailedError) Next() string {
	if e.RolledBack {
		return "go tool mage db:rollback -undo" + e.Flags + "   (to look at the failed state)"
	}
	return "go tool mage db:rollback -to=" + e.Snapshot + e.Flags
}

// NoOffsiteError is an offsite target without a bucket in the settings.
type NoOffsiteError struct{}

func (e *NoOffsiteError) Error() string {
	return "no offsite storage: set x-stevedore.offsite.url (s3://bucket/prefix) or STEVEDORE_OFFSITE_URL"
}

// Next shows the settings.
func (e *NoOffsiteError) Next() string { return "go tool mage env:init" }

// PushFailedError is a good local backup that did not reach the bucket.
type PushFailedError struct {
	Name string
	Err  error
}

func (e *PushFailedError) Error() string {
	return fmt.Sprintf("backup %s is good here, but it was not pushed: %v", e.Name, e.Err)
}

func (e *PushFailedError) Unwrap() error { return e.Err }

// Next pushes it again.
func (e *PushFailedError) Next() string { return "go tool mage db:push -name=" + e.Name }

// NoLocalBackupsError is a folder without backups where the team's bucket
// may have some: a new machine.
type NoLocalBackupsError struct{ Dir string }

func (e *NoLocalBackupsError) Error() string {
	return "no backups in " + e.Dir + " yet; the team's bucket may have some"
}

// Next brings the bucket's newest good backup and restores it.
func (e *NoLocalBackupsError) Next() string { return "go tool mage db:pull -latest -restore" }
