package dbops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/crypt"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Backup is db:backup: it dumps the database into the backup folder under
// name (default backup_YYYYMMDD_HHMMSS), reports the file, then prunes to the
// last AutoKeep backups. A failed backup marks the folder so nothing is
// pruned until a backup succeeds.
func Backup(ctx context.Context, cfg Config, name string) error {
	if name != "" {
		if err := store.ValidateName(name); err != nil {
			return err
		}
	}
	s, done, err := openLocked(ctx, cfg, "db:backup", false)
	if err != nil {
		return err
	}
	defer done()

	rec, err := s.backup(ctx, name, "backup")
	if err != nil {
		return err
	}
	printBackup(cfg.Out, s.store, rec)
	if cfg.Offsite != nil && cfg.Offsite.Push {
		if err := s.pushNew(ctx, rec.Name); err != nil {
			return &PushFailedError{Name: rec.Name, Err: err}
		}
	}
	if cfg.AutoKeep > 0 {
		// The backup is good whatever happens here. It is kept whatever the
		// clock said when it was taken: a clock set back must not make it
		// look older than the backups it follows.
		if err := s.prune(ctx, retention.Policy{Last: cfg.AutoKeep}, false, rec.Name); err != nil {
			cfg.Out.Warn("the backup is good, but pruning old ones failed: %v", err)
		}
	}
	return nil
}

// pushNew uploads the backup just taken (offsite.push).
func (s *session) pushNew(ctx context.Context, name string) error {
	e, err := s.store.Find(name)
	if err != nil {
		return err
	}
	r, err := s.cfg.remote(ctx)
	if err != nil {
		return err
	}
	return s.push(ctx, r, e)
}

// backup takes one backup, with a progress line, and keeps the folder's
// failure mark up to date.
func (s *session) backup(ctx context.Context, name, prefix string) (*store.Record, error) {
	s.cfg.Out.Step("backing up database %s from %s", s.db.Credentials().Database, s.db.Describe())
	progress := s.cfg.Out.Progress("dumping")
	defer progress.Done()
	return s.takeBackup(ctx, name, prefix, progress)
}

// takeBackup takes a backup named name (none: a fresh name with prefix),
// its dump's bytes shown by progress when not nil.
func (s *session) takeBackup(ctx context.Context, name, prefix string, progress *term.Progress) (*store.Record, error) {
	if name == "" {
		name = store.DefaultName(prefix, time.Now())
		for i := 2; s.store.Exists(name); i++ {
			name = fmt.Sprintf("%s_%d", store.DefaultName(prefix, time.Now()), i)
		}
	}
	out := s.cfg.Out
	to, err := crypt.Recipients(s.cfg.Recipients)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	opt := pgbackup.Options{To: to, Retry: s.retry("dumping", progress)}
	if progress != nil {
		opt.Progress = progress
	}
	rec, err := pgbackup.Backup(ctx, s.db, s.store, name, opt)
	var exists *pgbackup.ExistsError
	if errors.As(err, &exists) {
		return nil, err // refused before anything was tried: not a failed backup
	}
	if err != nil {
		why := err.Error()
		if ctx.Err() != nil {
			why = "interrupted"
		}
		if markErr := s.store.MarkFailure(store.Failure{At: time.Now(), Name: name, Error: why}); markErr != nil {
			out.Warn("could not record the failure: %v", markErr)
		}
		return nil, err
	}
	if err := s.store.ClearFailure(); err != nil {
		out.Warn("could not clear the last failure mark: %v", err)
	}
	return rec, nil
}

// retry tells that a stream was cut short and what is done again, and
// starts progress over when there is one.
func (s *session) retry(again string, progress *term.Progress) pgbackup.Retry {
	return func(cut *pgtarget.TruncatedError, attempt int) {
		s.cfg.Out.Warn("the stream through %s was cut short after %s: %s again (attempt %d of %d)",
			cut.Via, term.Bytes(cut.Got), again, attempt, pgbackup.StreamAttempts)
		if progress != nil {
			progress.Phase(again, 0)
		}
	}
}

func printBackup(out *term.Printer, st *store.Store, rec *store.Record) {
	ratio := ""
	if rec.Size > 0 {
		ratio = fmt.Sprintf(", %.0f:1", float64(rec.DumpBytes)/float64(rec.Size))
	}
	out.OK("backup %s: %s (%s of SQL%s) in %s, %s/s", rec.Name, term.Bytes(rec.Size), term.Bytes(rec.DumpBytes), ratio,
		term.Duration(time.Duration(rec.DurationSec*float64(time.Second))), term.Bytes(int64(float64(rec.DumpBytes)/max(rec.DurationSec, 1e-3))))
	fmt.Fprintf(out.Writer(), "  file     %s\n", relPath(st.DataPath(rec)))
	fmt.Fprintf(out.Writer(), "  sha256   %s\n", rec.SHA256)
	server, _, _ := strings.Cut(rec.ServerVersion, " ")
	fmt.Fprintf(out.Writer(), "  holds    %s, %s, %s (PostgreSQL %s)\n",
		term.Plural(len(rec.Tables), "table"), term.Plural(rec.Rows(), "row"), term.Plural(rec.LargeObjects, "large object"), server)
	fmt.Fprintf(out.Writer(), "  restore  go tool mage db:restore -name=%s\n", rec.Name)
}

// relPath shows p relative to the working folder when it is inside it.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, ok := strings.CutPrefix(p, wd+string(os.PathSeparator)); ok {
		return rel
	}
	return p
}
