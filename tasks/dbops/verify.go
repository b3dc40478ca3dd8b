package dbops

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Verify is db:verify: it checks a backup's checksum, restores it into a
// scratch database on the same server, compares it with what the backup
// holds, drops the scratch database and records the result for db:list.
func Verify(ctx context.Context, cfg Config, name string) error {
	s, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	l, err := s.lock(ctx, "db:verify")
	if err != nil {
		return err
	}
	defer l.Release()
	var entry store.Entry
	if name != "" {
		entry, err = s.store.Find(name)
	} else {
		entry, err = s.store.Latest()
	}
	if err != nil {
		return err
	}

	start := time.Now()
	cfg.Out.Step("verifying %s: checksum, then a restore into a scratch database on %s", entry.Name, s.db.Describe())
	progress := cfg.Out.Progress("restoring")
	check, verr := pgbackup.Verify(ctx, s.db, entry, progress)
	progress.Done()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if entry.Record != nil {
		v := &store.Verification{At: time.Now().UTC(), OK: verr == nil, Detail: "ok"}
		if verr != nil {
			v.Detail = verr.Error()
		}
		entry.Record.Verify = v
		if err := s.store.WriteRecord(entry.Record); err != nil {
			return fmt.Errorf("record the verification of %s: %w", entry.Name, err)
		}
	}
	if verr != nil {
		return fmt.Errorf("backup %s failed verification: %w", entry.Name, verr)
	}
	cfg.Out.OK("backup %s verified in %s: checksum ok, restores cleanly, %s, %s and %s match",
		entry.Name, term.Duration(time.Since(start)), plural(check.Tables, "table"), plural(check.Rows, "row"), plural(check.LargeObjects, "large object"))
	if entry.Record == nil {
		cfg.Out.Detail("an old script's file has no record to keep the result in")
	}
	return nil
}
