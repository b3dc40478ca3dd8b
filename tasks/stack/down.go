package stack

import (
	"context"
	"errors"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// DownOptions are env:down's flags.
type DownOptions struct {
	NoBackup bool // skip the backup
	Volumes  bool // also delete the named volumes (the database's data)
	Force    bool // delete volumes even when the backup failed
}

// Down is env:down: a backup of the database first (a broken database is
// reported and the stop goes on, unless volumes are to be deleted), then
// every service of every profile is stopped and removed.
func Down(ctx context.Context, s settings.Settings, out *term.Printer, opts DownOptions) error {
	start := time.Now()
	if !opts.NoBackup {
		err := dbops.Backup(ctx, dbConfig(s, out), "")
		var notPushed *dbops.PushFailedError
		if errors.As(err, &notPushed) {
			out.Warn("%v", err) // the backup is here: the data is safe to delete
			err = nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if opts.Volumes && !opts.Force {
				return &BackupFailedError{Err: err}
			}
			out.Warn("no backup: %v; stopping anyway", err)
		}
	}
	driver, project, err := composeOf(ctx, s)
	if err != nil {
		return err
	}
	// Every profile: a down without a profile leaves that profile's services running.
	project.Profiles = s.AllProfiles()
	if err := proc.Run(ctx, out, driver.DownArgs(project, opts.Volumes)...); err != nil {
		return err
	}
	if err := forgetUp(s); err != nil {
		out.Warn("%v", err)
	}
	what := "stopped"
	if opts.Volumes {
		what = "stopped and its volumes deleted"
	}
	out.OK("stack %s %s in %s", s.Project, what, term.Duration(time.Since(start)))
	return nil
}

// dbConfig points the db targets at this stack's database service, in
// Docker whatever STEVEDORE_TARGET says: it is this stack's data that a
// down may delete.
func dbConfig(s settings.Settings, out *term.Printer) dbops.Config {
	cfg := dbops.NewConfig(s)
	cfg.Target = pgtarget.Flags{Target: pgtarget.KindDocker}
	cfg.Out = out
	return cfg
}

// Restart is env:restart: down (no backup: no data is at risk) and up.
func Restart(ctx context.Context, s settings.Settings, out *term.Printer, opts UpOptions) error {
	if err := Down(ctx, s, out, DownOptions{NoBackup: true}); err != nil {
		return err
	}
	return Up(ctx, s, out, opts)
}

// Regenerate is env:regenerate: a backup (which must succeed unless force),
// down with volumes, images rebuilt, up, and the same readiness proof.
func Regenerate(ctx context.Context, s settings.Settings, out *term.Printer, opts UpOptions, force bool) error {
	if err := Down(ctx, s, out, DownOptions{Volumes: true, Force: force}); err != nil {
		return err
	}
	opts.Rebuild = true
	return Up(ctx, s, out, opts)
}
