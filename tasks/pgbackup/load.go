package pgbackup

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Progress hears how a long load goes: the bytes of SQL handed to the
// server (Write) and each phase as it begins, with the bytes it will take
// when they are known.
type Progress interface {
	io.Writer
	Phase(name string, total int64)
}

// The phases of a restore or verify, as Progress hears them.
const (
	PhaseLoading  = "loading data"
	PhaseBuilding = "building indexes and constraints"
	PhaseChecking = "checking"
	PhaseSwapping = "swapping in"
)

type noProgress struct{}

func (noProgress) Write(p []byte) (int, error) { return len(p), nil }
func (noProgress) Phase(string, int64)         {}

// loadScratch creates the database scratch beside the live one and loads
// backup e into it (see loadChecked), again when the stream was cut short.
// On failure the scratch database is dropped.
func loadScratch(ctx context.Context, db pgtarget.Database, e store.Entry, scratch string, p Progress, retry Retry) (Check, error) {
	var check Check
	err := retryCut(ctx, retry, func() error {
		if err := createScratch(ctx, db, scratch); err != nil {
			return err // createScratch cleans up after itself
		}
		var err error
		if check, err = loadChecked(ctx, db, e, scratch, p); err != nil {
			var cut *pgtarget.TruncatedError
			if dropErr := dropDatabase(context.WithoutCancel(ctx), db, scratch); dropErr != nil && errors.As(err, &cut) {
				// No second attempt beside a scratch database that stays.
				return fmt.Errorf("%v (and %w)", err, dropErr)
			}
		}
		return err
	})
	return check, err
}

// loadChecked loads backup e into the new database scratch beside the live
// one and checks the result against what the dump itself holds. The load
// ends when psql does, however long the server builds indexes after the
// last byte; only ctx stops it sooner. Statements the guard neutralises
// (see dumpscan.NewGuard) never reach the server: nothing in the file can
// touch another database.
func loadChecked(ctx context.Context, db pgtarget.Database, e store.Entry, scratch string, p Progress) (Check, error) {
	if p == nil {
		p = noProgress{}
	}
	src, err := openSource(e)
	if err != nil {
		return Check{}, err
	}
	defer src.Close()
	scan, guarded := dumpscan.GuardReader(src)
	p.Phase(PhaseLoading, src.total)
	// Once the last byte is handed over, what psql still runs is the dump's
	// post-data section: indexes, constraints, triggers.
	in := &eofReader{r: io.TeeReader(guarded, p), atEOF: func() { p.Phase(PhaseBuilding, 0) }}
	tags, loadErr := db.Load(ctx, scratch, in)
	if ctx.Err() != nil {
		return Check{}, ctx.Err()
	}
	if loadErr == nil {
		// The script may end before the file does (psql stops at \q): read
		// the rest so the checks see everything.
		_, loadErr = io.Copy(io.Discard, guarded)
	}
	if err := src.checkSum(); err != nil {
		return Check{}, err // damaged bytes explain whatever else went wrong
	}
	if loadErr != nil {
		return Check{}, fmt.Errorf("restore of %s stopped: %w", e.Name, loadErr)
	}
	if !scan.Complete() {
		return Check{}, &IncompleteDumpError{Bytes: scan.Bytes()}
	}
	// The checksum proved these are the bytes the record was made from, so
	// what the scan just counted is what they hold (a record an older
	// stevedore wrote may count differently).
	p.Phase(PhaseChecking, 0)
	return compare(ctx, db, scratch, scan, tags)
}

// eofReader calls atEOF once, when r ends.
type eofReader struct {
	r     io.Reader
	atEOF func()
	done  bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		e.atEOF()
	}
	return n, err
}
