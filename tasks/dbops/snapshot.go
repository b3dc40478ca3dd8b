package dbops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// notABackup is said wherever snapshots are listed.
const notABackup = "not backups: they live on the database server's volume and die with it"

// Snapshot is db:snapshot: a copy of the live database on its own server,
// named label ("" for its time).
func Snapshot(ctx context.Context, cfg Config, label string) error {
	if label != "" {
		if err := pgbackup.ValidLabel(label); err != nil {
			return err
		}
	}
	s, done, err := openLocked(ctx, cfg, "db:snapshot", true)
	if err != nil {
		return err
	}
	defer done()
	_, err = s.snapshot(ctx, label)
	return err
}

// snapshot takes a snapshot and says so; the start of db:migrate and
// db:seed too.
func (s *session) snapshot(ctx context.Context, label string) (pgbackup.Taken, error) {
	out, live := s.cfg.Out, s.db.Credentials().Database
	free := s.freeSpace(ctx)
	size, err := pgbackup.DatabaseSize(ctx, s.db)
	if err != nil {
		return pgbackup.Taken{}, err
	}
	if n, err := free(); err == nil && n < size {
		return pgbackup.Taken{}, &NoRoomError{Free: n, Need: size, What: "a snapshot of database " + live}
	}
	start := time.Now()
	progress := out.Progress(fmt.Sprintf("copying database %s (%s) on its server", live, term.Bytes(size)))
	taken, err := pgbackup.TakeSnapshot(ctx, s.db, label, start)
	progress.Done()
	if err != nil {
		return taken, err
	}
	out.OK("snapshot %s of database %s: %s in %s", taken.Name, live, term.Bytes(taken.Size), term.Duration(time.Since(start)))
	if taken.Ended > 0 {
		out.Step("%s of the application ended for the copy; new ones waited %s", term.Plural(taken.Ended, "session"), term.Duration(taken.Paused))
	} else {
		out.Detail("no session was connected; new ones waited %s", term.Duration(taken.Paused))
	}
	fmt.Fprintf(out.Writer(), "  back to it  go tool mage db:rollback -to=%s%s\n", taken.Name, s.cfg.Target.CommandFlags())
	if s.cfg.AutoKeep > 0 { // as after each backup: each snapshot costs the database's size
		if err := s.pruneSnapshots(ctx, retention.Policy{Last: s.cfg.AutoKeep}, false); err != nil {
			out.Warn("snapshots not pruned: %v", err)
		}
	}
	return taken, nil
}

// RollbackOptions say which snapshot db:rollback goes back to.
type RollbackOptions struct {
	To   string // a snapshot's name; "" for the newest a rollback did not replace
	Undo bool   // the state the last rollback replaced instead
	Keep bool   // copy the snapshot first, so that it stays for another rollback
}

// Rollback is db:rollback: the live database becomes the snapshot (a
// rename, so seconds whatever its size), and the state it replaces is kept
// as a snapshot, so that a rollback can be undone.
func Rollback(ctx context.Context, cfg Config, o RollbackOptions) error {
	if o.Undo && o.To != "" {
		return errors.New("-undo goes back to the state the last rollback replaced: pass it without -to")
	}
	s, done, err := openLocked(ctx, cfg, "db:rollback", true)
	if err != nil {
		return err
	}
	defer done()
	_, err = s.rollback(ctx, o)
	return err
}

// rollback rolls back and says so; also the end of a failed db:migrate.
func (s *session) rollback(ctx context.Context, o RollbackOptions) (pgbackup.Snapshot, error) {
	out, live := s.cfg.Out, s.db.Credentials().Database
	list, err := pgbackup.Snapshots(ctx, s.db)
	if err != nil {
		return pgbackup.Snapshot{}, err
	}
	to, ok := pgbackup.FindSnapshot(list, o.To, o.Undo)
	if !ok {
		return pgbackup.Snapshot{}, &pgbackup.NoSnapshotError{Database: live, Name: o.To, Undo: o.Undo}
	}
	start := time.Now()
	var progress *term.Progress
	if o.Keep {
		progress = out.Progress(fmt.Sprintf("copying snapshot %s (%s), so that it stays", to.Name, term.Bytes(to.Size)))
	}
	replaced, err := pgbackup.Rollback(ctx, s.db, to, list, start, o.Keep)
	if progress != nil {
		progress.Done()
	}
	var unknown *pgbackup.SwapUnknownError
	if errors.As(err, &unknown) {
		return to, &RestoreError{Err: err, Flags: s.cfg.Target.CommandFlags()}
	}
	if err != nil {
		return to, fmt.Errorf("rollback to snapshot %s: %w; the database was not changed", to.Name, err)
	}
	out.OK("rolled back in %s: database %s is as at snapshot %s (%s)", term.Duration(time.Since(start)), live, to.Name, to.At.Local().Format("2006-01-02 15:04:05"))
	if o.Keep {
		fmt.Fprintf(out.Writer(), "  kept  snapshot %s, for another rollback\n", to.Name)
	} else {
		out.Detail("snapshot %s is the live database now (-keep copies it first, so that it stays)", to.Name)
	}
	fmt.Fprintf(out.Writer(), "  kept  the state it replaced, as snapshot %s\n", replaced.Name)
	fmt.Fprintf(out.Writer(), "  undo  go tool mage db:rollback -undo%s\n", s.cfg.Target.CommandFlags())
	return to, nil
}

// SnapshotsVersion is the version of db:snapshots' JSON schema.
const SnapshotsVersion = 1

// SnapshotListing is db:snapshots -json: a stable schema, fields may be
// added, none renamed or removed without a new version.
type SnapshotListing struct {
	Version   int             `json:"version"`
	Database  string          `json:"database"` // the live database they are of
	Server    string          `json:"server"`   // where it runs
	Snapshots []SnapshotEntry `json:"snapshots"`
	Note      string          `json:"note"`
}

// SnapshotEntry is one snapshot in a SnapshotListing.
type SnapshotEntry struct {
	Name     string    `json:"name"`
	Database string    `json:"database"` // its own database on the server
	TakenAt  time.Time `json:"taken_at"`
	Size     int64     `json:"size"`
	Replaced bool      `json:"replaced"` // the state a rollback replaced (db:rollback -undo)
}

// BuildSnapshotListing turns snapshots into db:snapshots -json.
func BuildSnapshotListing(live, server string, list []pgbackup.Snapshot) SnapshotListing {
	l := SnapshotListing{Version: SnapshotsVersion, Database: live, Server: server, Snapshots: []SnapshotEntry{}, Note: "snapshots are " + notABackup}
	for _, s := range list {
		l.Snapshots = append(l.Snapshots, SnapshotEntry{Name: s.Name, Database: s.DB, TakenAt: s.At.UTC(), Size: s.Size, Replaced: s.Replaced()})
	}
	return l
}

// Snapshots is db:snapshots: the snapshots of the database, newest first.
func Snapshots(ctx context.Context, cfg Config, asJSON bool) error {
	out := cfg.Out
	if asJSON {
		cfg.Out = out.Quiet()
	}
	s := &session{cfg: cfg, store: store.At(cfg.BackupDir)}
	defer s.close()
	if err := s.connect(ctx); err != nil {
		return err
	}
	list, err := pgbackup.Snapshots(ctx, s.db)
	if err != nil {
		return err
	}
	live := s.db.Credentials().Database
	if asJSON {
		enc := json.NewEncoder(out.Writer())
		enc.SetIndent("", "  ")
		return enc.Encode(BuildSnapshotListing(live, s.db.Describe(), list))
	}
	if len(list) == 0 {
		out.OK("no snapshots of database %s", live)
		out.Next("go tool mage db:snapshot" + cfg.Target.CommandFlags())
		return nil
	}
	tw := tabwriter.NewWriter(out.Writer(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTAKEN\tSIZE\t")
	for _, sn := range list {
		what := ""
		if sn.Replaced() {
			what = "what a rollback replaced: db:rollback -undo"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sn.Name, sn.At.Local().Format("2006-01-02 15:04:05"), term.Bytes(sn.Size), what)
	}
	tw.Flush()
	out.Step("snapshots are %s (db:backup writes a file that outlives it)", notABackup)
	out.OK("%s of database %s in %s", term.Plural(len(list), "snapshot"), live, s.db.Describe())
	return nil
}

// pruneSnapshots applies p to the snapshots, as to the backups: the newest
// one is always kept.
func (s *session) pruneSnapshots(ctx context.Context, p retention.Policy, dryRun bool) error {
	list, err := pgbackup.Snapshots(ctx, s.db)
	if err != nil {
		return err
	}
	items := make([]retention.Item, len(list))
	byDB := map[string]pgbackup.Snapshot{}
	for i, sn := range list {
		items[i] = retention.Item{Name: sn.DB, When: sn.At, Good: true, Restorable: true}
		byDB[sn.DB] = sn
	}
	var doomed []pgbackup.Snapshot
	for _, it := range retention.Deletions(retention.Plan(items, p)) {
		doomed = append(doomed, byDB[it.Name])
	}
	verb := "would drop"
	if !dryRun {
		verb = "dropped"
		if err := pgbackup.DropSnapshots(ctx, s.db, doomed); err != nil {
			return err
		}
	}
	for _, sn := range doomed {
		s.cfg.Out.Step("%s snapshot %s (%s, %s)", verb, sn.Name, sn.At.Local().Format("2006-01-02 15:04"), term.Bytes(sn.Size))
	}
	if len(doomed) > 0 {
		s.cfg.Out.OK("snapshots: %s %d, kept %d (%s)", verb, len(doomed), len(list)-len(doomed), p)
	}
	return nil
}

// Change is work that changes the database (a migration, a seed script)
// guarded by a snapshot.
type Change struct {
	Label   string // the snapshot's name: before-migrate, before-seed
	What    string // for people: "the migration"
	Command string // for people: "`alembic upgrade head` in api"
	Run     func(ctx context.Context) error
}

// Guarded is db:migrate's and db:seed's frame: a snapshot, the change, and
// on failure a rollback to the snapshot, said. An interrupted change is not
// rolled back (its process may still be writing): the snapshot is named.
func Guarded(ctx context.Context, cfg Config, c Change) error {
	s, done, err := openLocked(ctx, cfg, "db:"+c.Label, true)
	if err != nil {
		return err
	}
	defer done()
	taken, err := s.snapshot(ctx, c.Label)
	if err != nil {
		return fmt.Errorf("no snapshot, so no %s: %w", c.What, err)
	}
	if ctx.Err() != nil { // nothing ran: the snapshot is only one more
		return ctx.Err()
	}
	start := time.Now()
	cfg.Out.Step("running %s: %s", c.What, c.Command)
	err = c.Run(ctx)
	switch {
	case err == nil:
		cfg.Out.OK("%s done in %s", c.What, term.Duration(time.Since(start)))
		return nil
	case ctx.Err() != nil:
		return &ChangeFailedError{What: c.What, Err: ctx.Err(), Snapshot: taken.Name, Flags: cfg.Target.CommandFlags()}
	}
	cfg.Out.Warn("%s failed: %v", c.What, err)
	cfg.Out.Step("rolling back to snapshot %s", taken.Name)
	// To the database's own name: exactly the snapshot it took.
	if _, rbErr := s.rollback(context.WithoutCancel(ctx), RollbackOptions{To: taken.DB}); rbErr != nil {
		var unknown *pgbackup.SwapUnknownError
		if errors.As(rbErr, &unknown) { // the snapshot may be the live database already
			return rbErr
		}
		return errors.Join(&ChangeFailedError{What: c.What, Err: err, Snapshot: taken.Name, Flags: cfg.Target.CommandFlags()}, rbErr)
	}
	return &ChangeFailedError{What: c.What, Err: err, RolledBack: true, Flags: cfg.Target.CommandFlags()}
}
