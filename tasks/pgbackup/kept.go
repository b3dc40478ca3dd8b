package pgbackup

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// Kept is a previous database a restore kept beside the live one: what the
// live database held before that restore, writes made during it included.
type Kept struct {
	Name string
	At   time.Time // when the restore replaced it; zero for one an earlier stevedore left
	Size int64     // bytes on the server, when asked for
}

// KeptDatabases returns the previous databases of db's live database that
// restores kept, newest first, with their sizes.
func KeptDatabases(ctx context.Context, db pgtarget.Database) ([]Kept, error) {
	view, err := look(ctx, db)
	if err != nil {
		return nil, err
	}
	live := db.Credentials().Database
	var kept []keptInfo
	for _, d := range view.Databases {
		if at, ok := KeptTime(d.Name, live); ok {
			kept = append(kept, keptInfo{Kept{Name: d.Name, At: at, Size: d.Size}, d})
		}
	}
	sortKept(kept)
	var list []Kept
	for _, k := range kept {
		list = append(list, k.Kept)
	}
	return list, nil
}

// DropKept drops every kept previous database but except (a name, or "").
func DropKept(ctx context.Context, db pgtarget.Database, except string) ([]Kept, error) {
	kept, err := KeptDatabases(ctx, db)
	if err != nil {
		return nil, err
	}
	var dropped []Kept
	for _, k := range kept {
		if k.Name == except {
			continue
		}
		if err := dropDatabase(ctx, db, k.Name); err != nil {
			return dropped, err
		}
		dropped = append(dropped, k)
	}
	return dropped, nil
}

// NothingToUndoError says no restore kept a previous database.
type NothingToUndoError struct{ Database string }

func (e *NothingToUndoError) Error() string {
	return fmt.Sprintf("no previous database of %s is kept: there is no restore to undo", e.Database)
}

// Next lists what there is.
func (e *NothingToUndoError) Next() string { return "go tool mage db:list" }

// Undo swaps the newest kept previous database back in. The database it
// replaces is kept in its turn (named for at), so an undo can be undone.
func Undo(ctx context.Context, db pgtarget.Database, at time.Time) (back Kept, keptNow string, err error) {
	kept, err := KeptDatabases(ctx, db)
	if err != nil {
		return Kept{}, "", err
	}
	live := db.Credentials().Database
	if len(kept) == 0 {
		return Kept{}, "", &NothingToUndoError{Database: live}
	}
	back, keptNow = kept[0], KeptName(live, at)
	for keptNow == back.Name { // undone within the second of the restore
		at = at.Add(time.Second)
		keptNow = KeptName(live, at)
	}
	return back, keptNow, swap(context.WithoutCancel(ctx), db, back.Name, keptNow) // see SwapIn
}
