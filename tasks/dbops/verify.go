package dbops

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Verify is db:verify: it loads a backup into a scratch database on the same
// server (checksummed on the way), compares it with what the backup holds,
// drops the scratch database and records the verdict for db:list. Only a
// verdict on the backup itself is recorded: a verify that the environment
// stopped (Ctrl-C, a killed program, the engine or server gone, a full disk)
// leaves the record as it was.
func Verify(ctx context.Context, cfg Config, name string) error {
	s, done, err := openLocked(ctx, cfg, "db:verify", true)
	if err != nil {
		return err
	}
	defer done()
	entry, err := s.pick(ctx, Choice{Name: name, Latest: name == ""})
	var check pgbackup.Check
	var verr error
	start := time.Now()
	switch {
	case pgbackup.BadBackup(err) && entry.Record != nil:
		verr = err // an encrypted backup whose header is damaged: a verdict
	case err != nil:
		return err
	default:
		if err := s.checkRoom(ctx, entry, false, s.freeSpace(ctx)); err != nil {
			return err
		}
		cfg.Out.Step("verifying %s: a restore into a scratch database on %s, checksummed and compared", entry.Name, s.db.Describe())
		progress := cfg.Out.Progress("creating a scratch database")
		check, verr = pgbackup.Verify(ctx, s.db, entry, progress, s.retry("loading", nil))
		progress.Done()
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if verr != nil && !pgbackup.BadBackup(verr) {
		return &UnfinishedError{Name: entry.Name, Err: verr, Flags: cfg.Target.CommandFlags()}
	}
	if entry.Record != nil {
		v := &store.Verification{At: time.Now().UTC(), OK: verr == nil, Detail: "ok"}
		if verr != nil {
			v.Detail = verr.Error()
		} else if check.Limits() != "" {
			v.Detail = "ok; rows not compared (INSERT-style dump)"
		}
		entry.Record.Verify = v
		if err := s.store.WriteRecord(entry.Record); err != nil {
			return fmt.Errorf("record the verification of %s: %w", entry.Name, err)
		}
	}
	if verr != nil {
		return fmt.Errorf("backup %s is bad: %w", entry.Name, verr)
	}
	cfg.Out.OK("backup %s verified in %s: restores cleanly; %s", entry.Name, term.Duration(time.Since(start)), checkSummary(check))
	s.tellLimits(check)
	if entry.Record == nil {
		cfg.Out.Detail("an old script's file has no record to keep the result in")
	}
	return nil
}
