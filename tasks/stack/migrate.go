package stack

import (
	"context"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Migrate is db:migrate: a snapshot, the project's migration command (or,
// with down, the one that reverts the last migration) in its service, and
// a rollback to the snapshot when it fails.
func Migrate(ctx context.Context, s settings.Settings, out *term.Printer, down bool) error {
	m := s.Migrate
	if m == nil {
		return &NoCommandError{Target: "db:migrate", Key: "migrate", Example: "migrate: {service: api, up: [alembic, upgrade, head], down: [alembic, downgrade, \"-1\"]}"}
	}
	cmd, label := m.Up, "before-migrate"
	if down {
		if len(m.Down) == 0 {
			return &NoCommandError{Target: "db:migrate -down", Key: "migrate.down", Example: "down: [alembic, downgrade, \"-1\"]"}
		}
		cmd, label = m.Down, "before-migrate-down"
	}
	return guarded(ctx, s, out, label, "migration", m.Service, cmd)
}

// Seed is db:seed: the same frame around the project's seed command.
func Seed(ctx context.Context, s settings.Settings, out *term.Printer) error {
	sd := s.Seed
	if sd == nil {
		return &NoCommandError{Target: "db:seed", Key: "seed", Example: "seed: {service: api, command: [python, scripts/seed.py]}"}
	}
	return guarded(ctx, s, out, "before-seed", "seed", sd.Service, sd.Command)
}

// guarded runs cmd in service, guarded by a snapshot of the stack's own
// database (the one the service's command changes).
func guarded(ctx context.Context, s settings.Settings, out *term.Printer, label, kind, service string, cmd []string) error {
	return dbops.Guarded(ctx, dbConfig(s, out), dbops.Change{
		Label:   label,
		What:    "the " + kind,
		Command: fmt.Sprintf("`%s` in %s", strings.Join(cmd, " "), service),
		Run:     func(ctx context.Context) error { return RunIn(ctx, s, out, service, cmd) },
	})
}
