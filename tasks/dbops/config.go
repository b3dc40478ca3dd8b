// Package dbops is what the db:* targets do for a user: find the database,
// take the backup folder's lock, run the backup, check or restore, and say
// what happened in a few lines with the command to run next.
package dbops

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Config is where the database and the backups are. Targets fill it from
// their flags over NewConfig.
type Config struct {
	Target    pgtarget.Flags // where the database is: a container, a pod, or the stack's db service
	Project   string         // compose project of the stack
	Service   string         // its database service
	NoService error          // why there is no Service
	BackupDir string
	AutoKeep  int // backups kept by the prune that follows each backup; 0 turns it off

	Recipients   []string          // new backups are encrypted to these keys (see crypt.Recipients)
	IdentityFile string            // opens encrypted backups ("": STEVEDORE_AGE_IDENTITY or its _FILE)
	Offsite      *settings.Offsite // nil: no offsite storage

	Out   *term.Printer // set by the caller
	In    io.Reader     // answers to menus and confirmations
	InTTY bool          // In is a terminal
}

// NewConfig is the Config the settings give; targets apply their flags
// over it.
func NewConfig(s settings.Settings) Config {
	return Config{
		Target:    TargetOf(s),
		Project:   s.Project,
		Service:   s.DBService,
		NoService: s.DBServiceErr,
		BackupDir: s.BackupDir,
		AutoKeep:  s.Keep,

		Recipients: s.Recipients,
		Offsite:    s.Offsite,
		In:         os.Stdin,
		InTTY:      term.IsTerminal(os.Stdin),
	}
}

// TargetOf is where the settings put the database (STEVEDORE_TARGET,
// STEVEDORE_DB_CONTAINER); targets apply their location flags over it.
func TargetOf(s settings.Settings) pgtarget.Flags {
	return pgtarget.Flags{Target: pgtarget.Kind(s.Target), Container: s.Container}
}

// session is one target's connection to the engine, the database and the folder.
type session struct {
	cfg   Config
	eng   *engine.Engine
	db    pgtarget.Database
	store *store.Store
	held  bool // this run holds the folder's lock
}

func (s *session) close() {
	if t, ok := s.db.(interface{ Transport() string }); ok && t.Transport() != "" {
		s.cfg.Out.Detail("data moved through %s", t.Transport())
	}
	if s.eng != nil {
		s.eng.Close()
	}
}

// openStore opens the backup folder only.
func openStore(cfg Config) (*store.Store, error) {
	return store.Open(cfg.BackupDir)
}

// open opens the backup folder and finds the database (see connect).
func open(ctx context.Context, cfg Config) (*session, error) {
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, store: st}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openLocked is open, then lock: the start of a target that changes the
// folder or the server. done releases both.
func openLocked(ctx context.Context, cfg Config, action string, run bool) (s *session, done func(), err error) {
	if s, err = open(ctx, cfg); err != nil {
		return nil, nil, err
	}
	release, err := s.lock(ctx, action, run)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, func() { release(); s.close() }, nil
}

// connect finds the database: in Docker (a container, or the compose
// project's db service) or in a Kubernetes pod, as pgtarget.Select decides.
// A cluster is never picked silently.
func (s *session) connect(ctx context.Context) error {
	cfg := s.cfg
	var engErr error
	sel, err := pgtarget.Select(cfg.Target, pgtarget.Probes{
		Docker:  func() bool { s.eng, engErr = engine.Connect(ctx); return engErr == nil },
		Cluster: func() bool { return pgtarget.ClusterAnswers(ctx, cfg.Target) },
	})
	if err != nil {
		s.close()
		if engErr != nil {
			return fmt.Errorf("%w (%v)", err, engErr)
		}
		return err
	}
	if sel.Kind == pgtarget.KindKubernetes {
		s.close() // an engine asked during auto-detection is not needed
		s.eng = nil
		// Through a variable of its own: a failed open's nil *Kube in s.db
		// would be an interface that is not nil.
		pod, err := pgtarget.OpenPod(ctx, sel.Flags)
		if err != nil {
			return err
		}
		s.db = pod
		cfg.Out.Step("target: Kubernetes %s (%s)", s.db.Describe(), sel.Reason)
		return nil
	}
	if s.eng == nil {
		if s.eng, err = engine.Connect(ctx); err != nil {
			return err
		}
	}
	cfg.Out.Detail("target: Docker (%s)", sel.Reason)
	if n, err := pgtarget.SweepOrphans(ctx, s.eng); err != nil {
		cfg.Out.Warn("could not look for leftovers of interrupted runs: %v", err)
	} else if n > 0 {
		cfg.Out.Detail("removed %d leftovers of interrupted runs", n)
	}
	ref := cfg.Target.Container
	if ref == "" && cfg.NoService != nil {
		s.close()
		return cfg.NoService
	}
	if ref == "" {
		if ref, err = pgtarget.FindService(ctx, s.eng, cfg.Project, cfg.Service); err != nil {
			s.close()
			return err
		}
	}
	db, err := pgtarget.OpenContainer(ctx, s.eng, ref)
	if err != nil {
		s.close()
		return err
	}
	s.db = db
	return nil
}

// tryConnect connects for work that can do without the database (listing,
// pruning files): a failure is said, not returned.
func (s *session) tryConnect(ctx context.Context, what string) bool {
	if err := s.connect(ctx); err != nil {
		s.cfg.Out.Warn("%s not checked: %v", what, err)
		return false
	}
	return true
}

// lock takes the backup folder's lock, cleans what interrupted runs left in
// the folder and, with a database, repairs what they left on its server.
// A run (a restore, verify or undo: what makes databases on the server)
// also takes the server's run lock first, which another checkout's runs on
// the same database respect.
func (s *session) lock(ctx context.Context, action string, run bool) (release func(), err error) {
	l, err := s.store.Acquire(ctx, action, lockWait)
	if err != nil {
		return nil, err
	}
	s.held = true
	release = func() { s.held = false; l.Release() }
	if run {
		unlock, err := pgbackup.LockServer(ctx, s.db)
		if err != nil {
			s.held = false
			l.Release()
			return nil, err
		}
		release = func() { unlock(); s.held = false; l.Release() }
	}
	removed, err := s.store.CleanLeftovers()
	if err != nil {
		release()
		return nil, fmt.Errorf("clean leftovers in %s: %w", s.store.Dir, err)
	}
	for _, n := range removed {
		s.cfg.Out.Detail("removed %s, left by an interrupted run", n)
	}
	s.repair(ctx)
	return release, nil
}

// repair undoes, on the server, what interrupted restores and verifies left
// (see pgbackup.Repair), and says so. A failure to look is a warning: the
// work at hand may still succeed.
func (s *session) repair(ctx context.Context) {
	if s.db == nil {
		return
	}
	left, err := pgbackup.Repair(ctx, s.db)
	if err != nil {
		s.cfg.Out.Warn("could not look for what interrupted runs left on the server: %v", err)
	}
	for _, r := range left.Repaired {
		s.cfg.Out.Warn("repaired: %s", r)
	}
	for _, b := range left.Busy {
		s.cfg.Out.Detail("left alone: %s", b)
	}
}

// lockWait is how long a second run waits for the folder before giving up.
const lockWait = 3 * time.Second
