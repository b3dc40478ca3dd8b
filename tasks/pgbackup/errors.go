package pgbackup

import (
	"fmt"
	"strings"
)

// IncompleteDumpError says pg_dump's output ended before pg_dump finished.
type IncompleteDumpError struct{ Bytes int64 }

func (e *IncompleteDumpError) Error() string {
	return fmt.Sprintf("the dump ended after %d bytes without pg_dump's closing line: it is incomplete", e.Bytes)
}

// ExistsError refuses a backup whose name is taken: nothing was attempted.
type ExistsError struct{ Name string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("a backup named %s exists already; choose another -name", e.Name)
}

// ChecksumError says a backup's bytes are not the ones that were written.
type ChecksumError struct {
	Name, Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("backup %s is damaged: its checksum is %.12s…, its record says %.12s…", e.Name, e.Got, e.Want)
}

// MismatchError says a restored database differs from what its backup holds.
type MismatchError struct{ Diffs []string }

func (e *MismatchError) Error() string {
	shown := e.Diffs
	if len(shown) > 3 {
		shown = append(shown[:3:3], fmt.Sprintf("and %d more", len(e.Diffs)-3))
	}
	return "the restored data differs from the backup: " + strings.Join(shown, "; ")
}

// NothingToUndoError says no restore kept a previous database.
type NothingToUndoError struct{ Database string }

func (e *NothingToUndoError) Error() string {
	return fmt.Sprintf("no previous database of %s is kept: there is no restore to undo", e.Database)
}

// Next lists what there is.
func (e *NothingToUndoError) Next() string { return "go tool mage db:list" }

// BusyError says another run is restoring, verifying or undoing the same
// database on its server.
type BusyError struct{ Database, Holder string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("another restore, verify or undo of database %s is under way on its server (%s): wait for it to finish", e.Database, e.Holder)
}

// SwapUnknownError says a swap's answer was lost and the server could not
// be asked whether it committed: the database under the live name is the
// old one or the incoming one (restored, or kept by a restore), each whole,
// and which cannot be told here.
type SwapUnknownError struct {
	Database string // the live name
	Incoming string // the database that was to take it
	Err      error
}

func (e *SwapUnknownError) Error() string {
	return fmt.Sprintf("the swap's answer was lost (%v) and the server could not be asked whether it committed: database %s is either as it was or what was %s, each whole", e.Err, e.Database, e.Incoming)
}

func (e *SwapUnknownError) Unwrap() error { return e.Err }

// Next shows which it is: the kept database is listed when the swap happened.
func (e *SwapUnknownError) Next() string { return "go tool mage db:list" }

// DamagedError says a compressed backup cannot be read back: its bytes are
// not the ones that were written.
type DamagedError struct {
	Name string
	Err  error
}

func (e *DamagedError) Error() string { return fmt.Sprintf("backup %s is damaged: %v", e.Name, e.Err) }

func (e *DamagedError) Unwrap() error { return e.Err }

// SnapshotBusyError says the live database could not be had alone for a
// copy: a session kept connecting, or another stevedore run uses it.
type SnapshotBusyError struct{ Database string }

func (e *SnapshotBusyError) Error() string {
	return fmt.Sprintf("database %s is in use by another stevedore run or by clients that reconnect at once: no snapshot taken", e.Database)
}

// Next shows who is connected.
func (e *SnapshotBusyError) Next() string { return "go tool mage diag:run -verbose" }

// NoSnapshotError says there is no snapshot of that name (or none at all,
// or no rollback to undo).
type NoSnapshotError struct {
	Database, Name string
	Undo           bool
}

func (e *NoSnapshotError) Error() string {
	switch {
	case e.Undo:
		return fmt.Sprintf("database %s has no rollback to undo", e.Database)
	case e.Name == "":
		return fmt.Sprintf("database %s has no snapshot to roll back to", e.Database)
	}
	return fmt.Sprintf("database %s has no snapshot named %s", e.Database, e.Name)
}

// Next lists the snapshots there are.
func (e *NoSnapshotError) Next() string { return "go tool mage db:snapshots" }
