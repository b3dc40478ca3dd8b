package tasks

import (
	"context"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/suggest"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Env runs the compose stack: up, down, restart, regenerate, logs, status.
type Env mg.Namespace

// defaultTimeout bounds how long env:up waits for the stack to be ready.
const defaultTimeout = 120 * time.Second

// envFlags are the settings env targets' flags give.
func envFlags(mode *string, tools *bool) settings.Overrides {
	o := settings.Overrides{Mode: str(mode)}
	if flag(tools) {
		o.Profiles = []string{"tools"}
	}
	return o
}

func upOptions(rebuild *bool, timeout *time.Duration) stack.UpOptions {
	o := stack.UpOptions{Rebuild: flag(rebuild), Timeout: defaultTimeout}
	if timeout != nil {
		o.Timeout = *timeout
	}
	return o
}

// Up starts the stack and waits until every service is ready; already up: says so and changes nothing.
func (Env) Up(ctx context.Context,
	mode *string, // a mode of x-stevedore.modes (bundled stack: debug, the default, or production)
	rebuild *bool, // rebuild the stack's images first (those Compose builds and stevedore's own)
	timeout *time.Duration, // how long to wait for readiness (default 2m)
	tools *bool, // also start the tools profile (bundled stack: pgadmin)
) error {
	j := job{name: "env:up", next: "go tool mage env:status", flags: envFlags(mode, tools), makeEnvFile: true}
	return run(ctx, j, func(out *term.Printer, s settings.Settings) error {
		return stack.Up(ctx, s, out, upOptions(rebuild, timeout))
	})
}

// Down backs the database up, then stops and removes every service of every profile.
func (Env) Down(ctx context.Context,
	nobackup *bool, // skip the backup
	volumes *bool, // also delete the volumes (the database's data)
	force *bool, // delete the volumes even if the backup failed
) error {
	return run(ctx, job{name: "env:down", next: "go tool mage env:status"}, func(out *term.Printer, s settings.Settings) error {
		opts := stack.DownOptions{NoBackup: flag(nobackup), Volumes: flag(volumes), Force: flag(force)}
		return stack.Down(ctx, s, out, opts)
	})
}

// Restart stops the stack and starts it again, waiting until it is ready.
func (Env) Restart(ctx context.Context,
	mode *string, // a mode of x-stevedore.modes (bundled stack: debug, the default, or production)
	timeout *time.Duration, // how long to wait for readiness (default 2m)
) error {
	j := job{name: "env:restart", next: "go tool mage env:status", flags: envFlags(mode, nil), makeEnvFile: true}
	return run(ctx, j, func(out *term.Printer, s settings.Settings) error {
		return stack.Restart(ctx, s, out, upOptions(nil, timeout))
	})
}

// Regenerate backs up, deletes the stack and its data, rebuilds its images and starts it empty and ready.
func (Env) Regenerate(ctx context.Context,
	mode *string, // a mode of x-stevedore.modes (bundled stack: debug, the default, or production)
	timeout *time.Duration, // how long to wait for readiness (default 2m)
	force *bool, // go on even if the backup fails
) error {
	j := job{name: "env:regenerate", next: "go tool mage env:status", flags: envFlags(mode, nil), makeEnvFile: true}
	return run(ctx, j, func(out *term.Printer, s settings.Settings) error {
		return stack.Regenerate(ctx, s, out, upOptions(nil, timeout), flag(force))
	})
}

// Logs prints the services' logs, each line prefixed with its service.
func (Env) Logs(ctx context.Context,
	service *string, // only this service
	follow *bool, // keep printing new lines until Ctrl-C
	tail *int, // the last N lines of each service (default: all)
	since *string, // only lines newer than this: 10m, 2h, or a timestamp
) error {
	opts := stack.LogOptions{Service: str(service), Follow: flag(follow), Since: str(since)}
	if tail != nil {
		opts.Tail = *tail
	}
	return run(ctx, job{name: "env:logs", next: "go tool mage env:status"}, func(out *term.Printer, s settings.Settings) error {
		return stack.Logs(ctx, s, out.Writer(), opts)
	})
}

// Init shows what stevedore finds in this repository: its Compose files, the x-stevedore block of what it inferred, and a .env.example for secrets written inline; changes nothing unless -write.
func (Env) Init(ctx context.Context,
	write *bool, // write the .env.example (never over an existing one); the Compose files are never changed
) error {
	return run(ctx, job{name: "env:init"}, func(out *term.Printer, s settings.Settings) error {
		return suggest.Print(out, s, flag(write))
	})
}

// Status shows each service's state, health, readiness, ports and URLs.
func (Env) Status(ctx context.Context,
	json *bool, // print a JSON document (schema in the README) instead of the table
) error {
	return run(ctx, job{name: "env:status"}, func(out *term.Printer, s settings.Settings) error {
		return stack.PrintStatus(ctx, s, out, flag(json))
	})
}

// Rollback undoes a bad change: stops the services that write, puts back the settings file of the last healthy env:up, rolls the database back to the newest snapshot (-backup: the newest good backup), starts the stack and waits until it is ready.
func (Env) Rollback(ctx context.Context,
	mode *string, // a mode of x-stevedore.modes (bundled stack: debug, the default, or production)
	tools *bool, // also start the tools profile (bundled stack: pgadmin)
	backup *bool, // restore the newest good backup instead of rolling back to a snapshot
	to *string, // the snapshot to roll back to (default: the newest one a rollback did not replace)
	previous *bool, // put back the settings file the last healthy env:up replaced, even when the current one came up healthy
	timeout *time.Duration, // how long to wait for readiness (default 2m)
) error {
	j := job{name: "env:rollback", next: "go tool mage env:status", flags: envFlags(mode, tools)}
	return run(ctx, j, func(out *term.Printer, s settings.Settings) error {
		reload := func() (settings.Settings, error) { return settings.Load(ctx, j.flags, false) }
		o := stack.RollbackOptions{Backup: flag(backup), To: str(to), Previous: flag(previous), Up: upOptions(nil, timeout)}
		return stack.RollbackEnv(ctx, s, out, reload, o)
	})
}
