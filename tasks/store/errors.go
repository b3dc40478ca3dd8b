package store

import "fmt"

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

// NotFoundError says no backup has the name asked for.
type NotFoundError struct{ Name, Dir string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no backup named %q in %s", e.Name, e.Dir)
}

// Next lists what there is to choose from.
func (e *NotFoundError) Next() string { return "go tool mage db:list" }

// NoBackupsError says the folder holds no good backup.
type NoBackupsError struct{ Dir string }

func (e *NoBackupsError) Error() string { return "no backups in " + e.Dir }

// Next takes one.
func (e *NoBackupsError) Next() string { return "go tool mage db:backup" }
