package stack

import (
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/term"
)

// PartlyUpError says env:up was interrupted after it began starting
// containers: some may be running.
type PartlyUpError struct{ Err error }

func (e *PartlyUpError) Error() string {
	return "interrupted while the stack was starting: some services may be running"
}

func (e *PartlyUpError) Unwrap() error { return e.Err }

// Next shows what runs.
func (e *PartlyUpError) Next() string { return "go tool mage env:status" }

// PortBusyError says a port the stack publishes is held by someone else.
type PortBusyError struct{ PortConflict }

func (e *PortBusyError) Error() string {
	return fmt.Sprintf("port %d, which %s publishes, is held by %s: stop it, or change the port in the settings file", e.Port, e.Service, e.HolderName())
}

// Next shows who listens on the port.
func (e *PortBusyError) Next() string { return e.PortConflict.Next() }

// NotReadyError says which service did not become ready, why, and what it logged.
type NotReadyError struct {
	Service string
	Why     string
	Logs    string
}

func (e *NotReadyError) Error() string { return fmt.Sprintf("%s is not ready: %s", e.Service, e.Why) }

// Explain shows the service's last log lines.
func (e *NotReadyError) Explain() string {
	if strings.TrimSpace(e.Logs) == "" {
		return ""
	}
	return "last lines of " + e.Service + "'s log:\n" + e.Logs
}

// Next shows the service's logs.
func (e *NotReadyError) Next() string { return "go tool mage env:logs -service=" + e.Service }

// StackDownError says the stack has no containers.
type StackDownError struct{ Project string }

func (e *StackDownError) Error() string { return "stack " + e.Project + " is not running" }

// Next starts it.
func (e *StackDownError) Next() string { return "go tool mage env:up" }

// BackupFailedError refuses to destroy data whose backup failed.
type BackupFailedError struct{ Err error }

func (e *BackupFailedError) Error() string {
	return fmt.Sprintf("the backup failed (%v), so the volumes were kept; pass -force to delete them anyway", e.Err)
}

func (e *BackupFailedError) Unwrap() error { return e.Err }

// NoCommandError says the project declares no command for a target.
type NoCommandError struct{ Target, Key, Example string }

func (e *NoCommandError) Error() string {
	return fmt.Sprintf("%s: this project declares no command for it: add %s to the x-stevedore block of its compose file, e.g. %s", e.Target, e.Key, e.Example)
}

// RollbackStepError says at which step env:rollback stopped, and why.
type RollbackStepError struct {
	Step, Of     int
	What         string
	Err          error
	DatabaseDone bool // the database was rolled back before the failure
}

func (e *RollbackStepError) Error() string {
	done := "the database was not rolled back"
	if e.DatabaseDone {
		done = "the database was rolled back"
	}
	return fmt.Sprintf("rollback stopped at step %d/%d (%s): %v; %s", e.Step, e.Of, e.What, e.Err, done)
}

func (e *RollbackStepError) Unwrap() error { return e.Err }

// Next is the failure's own next command, or else what finishes the
// rollback: env:up once the database is back, else env:rollback again.
func (e *RollbackStepError) Next() string {
	if next := term.NextOf(e.Err); next != "" {
		return next
	}
	if e.DatabaseDone {
		return "go tool mage env:up"
	}
	return "go tool mage env:rollback"
}
