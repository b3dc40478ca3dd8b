package dbops

import (
	"context"
	"fmt"
	"os"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Prune is db:prune: it deletes the backups the policy does not keep, drops
// the previous database the last restore kept (its undo) and the snapshots
// the same policy does not keep, or with
// dryRun only says what it would do, changing nothing on disk or on the
// server. It refuses while the last backup failed.
func Prune(ctx context.Context, cfg Config, p retention.Policy, dryRun bool) error {
	s := &session{cfg: cfg, store: store.At(cfg.BackupDir)}
	defer s.close()
	connected := s.tryConnect(ctx, "kept databases")
	if !dryRun {
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		s.store = st
		release, err := s.lock(ctx, "db:prune", false)
		if err != nil {
			return err
		}
		defer release()
	}
	if err := s.prune(ctx, p, dryRun, ""); err != nil {
		return err
	}
	if !connected {
		return nil
	}
	if err := s.pruneKept(ctx, dryRun); err != nil {
		return err
	}
	return s.pruneSnapshots(ctx, p, dryRun)
}

// prune applies p to the backup folder; pinned (a name, or "") is kept
// whatever its time.
func (s *session) prune(ctx context.Context, p retention.Policy, dryRun bool, pinned string) error {
	if f, err := s.store.LastFailure(); err != nil {
		return err
	} else if f != nil {
		return &FailedBackupError{F: *f}
	}
	entries, err := s.store.List()
	if err != nil {
		return err
	}
	byName := map[string]store.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	plan := retention.Plan(retentionItems(entries, pinned), p)
	return s.applyPlan(ctx, plan, p, dryRun, relPath(s.store.Dir), func(name string) error { return removeBackup(s.store, byName[name]) })
}

// retentionItems are entries as retention sees them; pinned (a name, or
// "") is the backup just taken or pushed, kept whatever its time.
func retentionItems(entries []store.Entry, pinned string) []retention.Item {
	items := make([]retention.Item, len(entries))
	for i, e := range entries {
		items[i] = retention.Item{Name: e.Name, When: e.When, Good: e.Good(), Restorable: e.Restorable()}
		if e.Name == pinned {
			items[i].Pinned = "just taken"
		}
	}
	return items
}

// applyPlan deletes what plan does not keep from where (or with dryRun
// only says it), then says what it did.
func (s *session) applyPlan(ctx context.Context, plan []retention.Decision, p retention.Policy, dryRun bool, where string, remove func(name string) error) error {
	out := s.cfg.Out
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
		if !dryRun {
			if err := remove(it.Name); err != nil {
				return err
			}
		}
		out.Step("%s %s (%s) from %s", verb, it.Name, it.When.Local().Format("2006-01-02 15:04"), where)
	}
	switch {
	case len(doomed) == 0 && dryRun:
		out.OK("prune (dry run): nothing to delete in %s; %s kept (%s)", where, term.Plural(len(plan), "backup"), p)
	case len(doomed) == 0:
		out.Detail("prune: nothing to delete in %s; %s kept (%s)", where, term.Plural(len(plan), "backup"), p)
	default:
		out.OK("prune%s: %s %d in %s, kept %d (%s)", map[bool]string{true: " (dry run)"}[dryRun], verb, len(doomed), where, len(plan)-len(doomed), p)
	}
	return nil
}

// pruneKept drops the previous databases restores kept on the server.
func (s *session) pruneKept(ctx context.Context, dryRun bool) error {
	kept, err := pgbackup.KeptDatabases(ctx, s.db)
	if err != nil {
		return err
	}
	verb := "would drop"
	if !dryRun {
		verb = "dropped"
		if err := pgbackup.DropKept(ctx, s.db, kept); err != nil {
			return err
		}
	}
	for _, k := range kept {
		s.cfg.Out.Step("%s %s (%s), the previous database the last restore kept (its undo)", verb, k.Name, term.Bytes(k.Size))
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
