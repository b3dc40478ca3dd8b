package tasks

import (
	"context"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Env runs the compose stack: up, down, restart, regenerate, logs, status.
type Env mg.Namespace

// defaultTimeout bounds how long env:up waits for the stack to be ready.
const defaultTimeout = 120 * time.Second

func envSettings(mode *string, tools *bool) stack.Settings {
	s := stack.DefaultSettings()
	if mode != nil {
		s.Mode = *mode
	}
	if flag(tools) {
		s.Profiles = []string{"tools"}
	}
	return s
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
	mode *string, // debug (default: verbose logs, debug port) or production
	rebuild *bool, // rebuild the stack's own images first
	timeout *time.Duration, // how long to wait for readiness (default 2m)
	tools *bool, // also start the tools profile (pgadmin)
) error {
	return run("env:up", "go tool mage env:status", func(out *term.Printer) error {
		return stack.Up(ctx, envSettings(mode, tools), out, upOptions(rebuild, timeout))
	})
}

// Down backs the database up, then stops and removes every service of every profile.
func (Env) Down(ctx context.Context,
	nobackup *bool, // skip the backup
	volumes *bool, // also delete the volumes (the database's data)
	force *bool, // delete the volumes even if the backup failed
) error {
	return run("env:down", "go tool mage env:status", func(out *term.Printer) error {
		opts := stack.DownOptions{NoBackup: flag(nobackup), Volumes: flag(volumes), Force: flag(force)}
		return stack.Down(ctx, envSettings(nil, nil), out, opts)
	})
}

// Restart stops the stack and starts it again, waiting until it is ready.
func (Env) Restart(ctx context.Context,
	mode *string, // debug (default) or production
	timeout *time.Duration, // how long to wait for readiness (default 2m)
) error {
	return run("env:restart", "go tool mage env:status", func(out *term.Printer) error {
		return stack.Restart(ctx, envSettings(mode, nil), out, upOptions(nil, timeout))
	})
}

// Regenerate backs up, deletes the stack and its data, rebuilds its images and starts it empty and ready.
func (Env) Regenerate(ctx context.Context,
	mode *string, // debug (default) or production
	timeout *time.Duration, // how long to wait for readiness (default 2m)
	force *bool, // go on even if the backup fails
) error {
	return run("env:regenerate", "go tool mage env:status", func(out *term.Printer) error {
		return stack.Regenerate(ctx, envSettings(mode, nil), out, upOptions(nil, timeout), flag(force))
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
	return run("env:logs", "go tool mage env:status", func(out *term.Printer) error {
		return stack.Logs(ctx, envSettings(nil, nil), out.Writer(), opts)
	})
}

// Status shows each service's state, health, readiness, ports and URLs.
func (Env) Status(ctx context.Context,
	json *bool, // print a JSON document (schema in the README) instead of the table
) error {
	return run("env:status", "", func(out *term.Printer) error {
		return stack.PrintStatus(ctx, envSettings(nil, nil), out, flag(json))
	})
}
