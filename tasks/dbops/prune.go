package dbops

import (
	"context"
	"fmt"
	"os"

	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Prune is db:prune: it deletes the backups the policy does not keep, or
// with dryRun only prints the plan. It refuses while the last backup failed.
func Prune(ctx context.Context, cfg Config, p retention.Policy, dryRun bool) error {
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	s := &session{cfg: cfg, store: st}
	l, err := s.lock(ctx, "db:prune")
	if err != nil {
		return err
	}
	defer l.Release()
	return s.prune(ctx, p, dryRun)
}

// FailedBackupError stops pruning after a failed backup: the old backups may
// be all there is.
type FailedBackupError struct{ F store.Failure }

func (e *FailedBackupError) Error() string {
	return fmt.Sprintf("the last backup (%s, at %s) failed: %s; nothing is pruned until a backup succeeds",
		e.F.Name, e.F.At.Local().Format("2006-01-02 15:04:05"), e.F.Error)
}

// Next takes a backup that succeeds.
func (e *FailedBackupError) Next() string { return "go tool mage db:backup" }

func (s *session) prune(ctx context.Context, p retention.Policy, dryRun bool) error {
	out := s.cfg.Out
	if f, err := s.store.LastFailure(); err != nil {
		return err
	} else if f != nil {
		return &FailedBackupError{F: *f}
	}
	entries, err := s.store.List()
	if err != nil {
		return err
	}
	items := make([]retention.Item, len(entries))
	byName := map[string]store.Entry{}
	for i, e := range entries {
		items[i] = retention.Item{Name: e.Name, When: e.When, Good: e.Good()}
		byName[e.Name] = e
	}
	plan := retention.Plan(items, p)
	doomed := retention.Deletions(plan)
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	for _, d := range plan {
		if d.Keep {
			out.Detail("keep %s (%s): %v", d.Name, d.When.Local().Format("2006-01-02 15:04"), d.Reasons)
		}
	}
	for _, it := range doomed {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e := byName[it.Name]
		if !dryRun {
			if err := removeBackup(s.store, e); err != nil {
				return err
			}
		}
		out.Step("%s %s (%s)", verb, it.Name, it.When.Local().Format("2006-01-02 15:04"))
	}
	switch {
	case len(doomed) == 0 && dryRun:
		out.OK("prune (dry run): nothing to delete; %d backups kept (%s)", len(plan), p)
	case len(doomed) == 0:
		out.Detail("prune: nothing to delete; %d backups kept (%s)", len(plan), p)
	default:
		out.OK("prune%s: %s %d, kept %d (%s)", map[bool]string{true: " (dry run)"}[dryRun], verb, len(doomed), len(plan)-len(doomed), p)
	}
	return nil
}

// removeBackup deletes the record first: from that moment the data file is
// a leftover, never a half-deleted backup.
func removeBackup(st *store.Store, e store.Entry) error {
	if e.Record != nil {
		if err := os.Remove(st.RecordPath(e.Name)); err != nil {
			return fmt.Errorf("delete %s: %w", e.Name, err)
		}
	}
	if err := os.Remove(e.Path); err != nil {
		return fmt.Errorf("delete %s: %w", e.Name, err)
	}
	return nil
}
