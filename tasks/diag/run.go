package diag

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
)

// Options configure a run.
type Options struct {
	Settings settings.Settings
	Kube     *pgtarget.Flags // set: the database is in a Kubernetes pod, and the Docker stack is not checked
}

// Timeouts of the checks: each bounded, so a dead service costs at most this.
const (
	engineTimeout   = 2 * time.Second
	composeTimeout  = 5 * time.Second
	serviceTimeout  = 2 * time.Second
	databaseTimeout = 3 * time.Second
	// A migration tool's check (alembic, say) starts an interpreter.
	migrationsTimeout = 20 * time.Second
	// A bucket across the internet: a handshake and a listing.
	offsiteTimeout = 10 * time.Second
)

// Run is one run of the doctor. Every problem becomes a check; Run itself
// fails only when ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	s := opts.Settings
	r := &Report{SchemaVersion: SchemaVersion, Timestamp: start.UTC(), Project: s.Project, Mode: s.Mode, ComposeFiles: s.Files}
	c := &collector{services: map[string]ServiceReport{}}

	c.run(ctx, time.Second, func(context.Context) Check { return checkDisk(s.BackupDir) })
	c.run(ctx, time.Second, func(context.Context) Check { return checkBackups(s.BackupDir, s.BackupMaxAge) })
	if s.Offsite != nil {
		c.run(ctx, offsiteTimeout, func(ctx context.Context) Check { return checkOffsite(ctx, *s.Offsite, s.BackupMaxAge) })
	}

	finish := func() (*Report, error) {
		c.wg.Wait()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.Checks, r.Services = c.checks, c.services
		r.DurationMS = time.Since(start).Milliseconds()
		r.Finish()
		return r, nil
	}
	if opts.Kube != nil {
		r.Mode = "kubernetes"
		c.run(ctx, databaseTimeout+engineTimeout, func(ctx context.Context) Check { return checkPodDatabase(ctx, *opts.Kube, s.Migrations) })
		return finish()
	}

	ectx, cancel := context.WithTimeout(ctx, engineTimeout)
	t0 := time.Now()
	eng, err := engine.Connect(ectx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			c.wg.Wait()
			return nil, ctx.Err()
		}
		c.add(Check{ID: "engine", Group: "machine", Status: Fail, Summary: err.Error(), Next: "docker info", TookMS: time.Since(t0).Milliseconds()})
		c.runAll(ctx, composeTimeout, func(ctx context.Context) []Check { return checkCompose(ctx, s, nil, nil) })
	} else {
		defer eng.Close()
		c.add(Check{ID: "engine", Group: "machine", Status: OK, TookMS: time.Since(t0).Milliseconds(),
			Summary: fmt.Sprintf("Docker engine %s (API %s)", eng.Version, eng.APIVersion)})
		octx, cancel := context.WithTimeout(ctx, engineTimeout)
		services, err := stack.Observe(octx, eng, s)
		cancel()
		if err != nil {
			c.add(Check{ID: "services", Group: "services", Status: Fail, Summary: err.Error(), Next: "docker info"})
		}
		if len(services) == 0 && err == nil {
			c.add(Check{ID: "services", Group: "services", Status: Fail, Summary: "stack " + s.Project + " is not running: no containers", Next: "go tool mage env:up"})
		}
		if s.DBServiceErr != nil {
			c.add(Check{ID: "database", Group: "database", Status: Fail, Summary: "database: " + s.DBServiceErr.Error(), Next: "go tool mage env:init"})
		}
		for _, svc := range services {
			if svc.Mode != "" {
				r.Mode = svc.Mode
			}
			c.run(ctx, serviceTimeout, func(ctx context.Context) Check { return checkService(ctx, c, svc) })
			if svc.Name == s.DBService {
				c.run(ctx, databaseTimeout, func(ctx context.Context) Check { return checkDatabase(ctx, eng, svc, s.Migrations) })
			}
			if m := s.Migrations; m != nil && len(m.Command) > 0 && svc.Name == m.Service {
				c.run(ctx, migrationsTimeout, func(ctx context.Context) Check { return checkMigrationCommand(ctx, eng, svc, *m) })
			}
		}
		c.runAll(ctx, composeTimeout, func(ctx context.Context) []Check { return checkCompose(ctx, s, eng, services) })
	}
	return finish()
}
