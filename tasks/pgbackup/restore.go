package pgbackup

import (
	"context"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Prepared is a backup loaded and checked beside the live database, ready
// to be swapped in. Until then the live database is untouched.
type Prepared struct {
	db      pgtarget.Database
	scratch string
	Check   Check
}

// Prepare loads backup e into a scratch database beside db's and checks it
// against what the backup holds. On failure the scratch database is dropped.
func Prepare(ctx context.Context, db pgtarget.Database, e store.Entry, p Progress, retry Retry) (*Prepared, error) {
	scratch := ScratchName(db.Credentials().Database, roleRestore)
	check, err := loadScratch(ctx, db, e, scratch, p, retry)
	if err != nil {
		return nil, err
	}
	return &Prepared{db: db, scratch: scratch, Check: check}, nil
}

// Discard drops the prepared database.
func (pr *Prepared) Discard(ctx context.Context) {
	_ = dropDatabase(context.WithoutCancel(ctx), pr.db, pr.scratch)
}

// SwapIn makes the prepared database the live one (see swap) and keeps the
// live one as KeptName(live, at): an undo is a rename, and writes made while
// the backup loaded are in it. It returns the kept name, and the databases
// earlier restores kept, which this one replaces.
func (pr *Prepared) SwapIn(ctx context.Context, at time.Time) (kept string, earlier []Kept, err error) {
	// The swap takes a fraction of a second: it is not cut short, so what
	// it reports is what happened (psql in the container would go on).
	ctx = context.WithoutCancel(ctx)
	kept = KeptName(pr.db.Credentials().Database, at)
	if err := dropDatabase(ctx, pr.db, kept); err != nil { // one kept within the same second
		pr.Discard(ctx)
		return "", nil, err
	}
	if earlier, err = swap(ctx, pr.db, pr.scratch, kept); err != nil {
		pr.Discard(ctx)
		return "", nil, err
	}
	return kept, earlier, nil
}

// Restore replaces db's database with backup e, keeping the one it replaces:
// Prepare, then SwapIn.
func Restore(ctx context.Context, db pgtarget.Database, e store.Entry, p Progress, retry Retry) (Check, string, error) {
	pr, err := Prepare(ctx, db, e, p, retry)
	if err != nil {
		return Check{}, "", err
	}
	kept, _, err := pr.SwapIn(ctx, time.Now())
	return pr.Check, kept, err
}
