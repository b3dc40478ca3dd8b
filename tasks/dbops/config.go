// Package dbops is what the db:* targets do for a user: find the database,
// take the backup folder's lock, run the backup, check or restore, and say
// what happened in a few lines with the command to run next.
package dbops

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Config is where the database and the backups are. Targets fill it from
// their flags over Defaults.
type Config struct {
	Container string // a running container; empty: the compose project's db service
	Project   string // compose project of the stack
	Service   string // its database service
	BackupDir string
	AutoKeep  int // backups kept by the prune that follows each backup; 0 turns it off

	Out   *term.Printer
	In    io.Reader // answers to menus and confirmations
	InTTY bool      // In is a terminal
}

// Defaults reads the environment: STEVEDORE_DB_CONTAINER,
// STEVEDORE_PROJECT (stevedore), STEVEDORE_DB_SERVICE (db),
// STEVEDORE_BACKUP_DIR (database/backups) and STEVEDORE_KEEP (10).
func Defaults() Config {
	keep := retention.DefaultPolicy.Last
	if v, err := strconv.Atoi(os.Getenv("STEVEDORE_KEEP")); err == nil && v >= 0 {
		keep = v
	}
	return Config{
		Container: os.Getenv("STEVEDORE_DB_CONTAINER"),
		Project:   envOr("STEVEDORE_PROJECT", "stevedore"),
		Service:   envOr("STEVEDORE_DB_SERVICE", "db"),
		BackupDir: envOr("STEVEDORE_BACKUP_DIR", "database/backups"),
		AutoKeep:  keep,
		Out:       term.Stdout(),
		In:        os.Stdin,
		InTTY:     term.IsTerminal(os.Stdin),
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// session is one target's connection to the engine, the database and the folder.
type session struct {
	cfg   Config
	eng   *engine.Engine
	db    pgtarget.Database
	store *store.Store
}

func (s *session) close() {
	if s.eng != nil {
		s.eng.Close()
	}
}

// openStore opens the backup folder only.
func openStore(cfg Config) (*store.Store, error) {
	return store.Open(cfg.BackupDir)
}

// open connects to the engine and finds the database.
func open(ctx context.Context, cfg Config) (*session, error) {
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, eng: eng, store: st}
	if n, err := pgtarget.SweepOrphans(ctx, eng); err != nil {
		cfg.Out.Warn("could not look for leftovers of interrupted runs: %v", err)
	} else if n > 0 {
		cfg.Out.Detail("removed %d leftovers of interrupted runs", n)
	}
	ref := cfg.Container
	if ref == "" {
		if ref, err = pgtarget.FindService(ctx, eng, cfg.Project, cfg.Service); err != nil {
			s.close()
			return nil, err
		}
	}
	if s.db, err = pgtarget.OpenContainer(ctx, eng, ref); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// lock takes the backup folder's lock and cleans what interrupted runs left.
func (s *session) lock(ctx context.Context, action string) (*store.Lock, error) {
	l, err := s.store.Acquire(ctx, action, lockWait)
	if err != nil {
		return nil, err
	}
	removed, err := s.store.CleanLeftovers()
	if err != nil {
		l.Release()
		return nil, fmt.Errorf("clean leftovers in %s: %w", s.store.Dir, err)
	}
	for _, n := range removed {
		s.cfg.Out.Detail("removed %s, left by an interrupted run", n)
	}
	return l, nil
}

// lockWait is how long a second run waits for the folder before giving up.
const lockWait = 3 * time.Second
