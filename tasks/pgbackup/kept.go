package pgbackup

import (
	"context"
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
	return view.kept(db.Credentials().Database), nil
}

// DropKept drops kept databases.
func DropKept(ctx context.Context, db pgtarget.Database, kept []Kept) error {
	for _, k := range kept {
		if err := dropDatabase(ctx, db, k.Name); err != nil {
			return err
		}
	}
	return nil
}

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
	_, err = swap(context.WithoutCancel(ctx), db, back.Name, keptNow) // see SwapIn
	return back, keptNow, err
}
