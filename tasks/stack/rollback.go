package stack

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// RollbackOptions are env:rollback's flags.
type RollbackOptions struct {
	Backup   bool   // the newest good backup instead of the newest snapshot
	To       string // a snapshot by name
	Previous bool   // put back the settings file the last healthy env:up replaced
	Up       UpOptions
}

// rollbackSteps are env:rollback's steps, printed as [n/4].
var rollbackSteps = []string{"stop the services that write", "put back the settings file", "roll the database back", "start the stack and wait until it is ready"}

// RollbackEnv is env:rollback, seed 004's rollback plan as one target: stop
// the services that write to the database, put back the settings file the
// last healthy env:up started from, roll the database back (newest
// snapshot, or newest good backup), start everything and prove it ready.
// reload reads the settings again once the file is back. Every step is
// safe to interrupt; the error says which step was reached.
func RollbackEnv(ctx context.Context, s settings.Settings, out *term.Printer, reload func() (settings.Settings, error), o RollbackOptions) error {
	start := time.Now()
	step := func(i int, format string, args ...any) {
		out.Step("[%d/%d] %s: %s", i+1, len(rollbackSteps), rollbackSteps[i], fmt.Sprintf(format, args...))
	}
	fail := func(i int, err error) error {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &RollbackStepError{Step: i + 1, Of: len(rollbackSteps), What: rollbackSteps[i], Err: err, DatabaseDone: i > 2}
	}

	stopped, err := stopWriters(ctx, s)
	if err == nil {
		err = forgetUp(s) // the stack is no longer as the last env:up left it
	}
	if err != nil {
		return fail(0, err)
	}
	step(0, "%s", orNone(stopped))

	kept := keptSettingsOf(s)
	choice, err := kept.chooseSettings(s.EnvFile, o.Previous)
	if err == nil && choice.from != "" {
		err = kept.putBack(s.EnvFile, choice)
	}
	if err != nil {
		return fail(1, err)
	}
	if choice.from != "" {
		step(1, "%s is %s again (the replaced one is kept in %s)", s.EnvFile, choice.why, kept.replaced())
		if s, err = reload(); err != nil {
			return fail(1, err)
		}
	} else {
		step(1, "%s left as it is: %s", cmp.Or(s.EnvFile, "no settings file"), choice.why)
	}

	if err := ensureDatabase(ctx, s, out, o.Up.Timeout); err != nil {
		return fail(2, err)
	}
	step(2, "%s", map[bool]string{true: "the newest good backup", false: "a snapshot"}[o.Backup])
	cfg := dbConfig(s, out)
	if o.Backup {
		err = dbops.Restore(ctx, cfg, dbops.Choice{Latest: true}, dbops.RestoreOptions{Yes: true})
	} else {
		err = dbops.Rollback(ctx, cfg, dbops.RollbackOptions{To: o.To})
	}
	if err != nil {
		return fail(2, err)
	}

	step(3, "%s", strings.Join(s.Active(), ", "))
	if err := Up(ctx, s, out, o.Up); err != nil {
		return fail(3, err)
	}
	out.OK("rolled back and healthy in %s", term.Duration(time.Since(start)))
	return nil
}

// stopWriters stops the running containers of the stack other than the
// database's, through the engine: a broken settings file may keep Compose
// from loading the project.
func stopWriters(ctx context.Context, s settings.Settings) ([]string, error) {
	eng, services, err := connectAndObserve(ctx, s)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	var stopped []string
	for _, svc := range services {
		if svc.Name == s.DBService || !writing(svc.State) {
			continue
		}
		if _, err := eng.ContainerStop(ctx, svc.ID, client.ContainerStopOptions{}); err != nil {
			return stopped, fmt.Errorf("stop %s: %w", svc.Container, err)
		}
		stopped = append(stopped, svc.Name)
	}
	return stopped, nil
}

// ensureDatabase starts the database service alone when it is not running,
// and waits until it is ready: the rollback needs it.
func ensureDatabase(ctx context.Context, s settings.Settings, out *term.Printer, timeout time.Duration) error {
	eng, services, err := connectAndObserve(ctx, s)
	if err != nil {
		return err
	}
	defer eng.Close()
	for _, svc := range services {
		if svc.Name == s.DBService && svc.State == "running" {
			return nil
		}
	}
	driver, project, err := composeOf(ctx, s)
	if err != nil {
		return err
	}
	out.Step("starting %s first", s.DBService)
	if err := proc.Run(ctx, out, driver.Args(project, "up", "-d", "--no-deps", s.DBService)...); err != nil {
		return err
	}
	_, err = waitReady(ctx, eng, s, []string{s.DBService}, time.Now().Add(timeout), timeout)
	return err
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// writing reports a container state in which a service may write: running,
// and also restarting (a crash loop, which a rollback is often for) or
// paused (it resumes).
func writing(state string) bool {
	return state == "running" || state == "restarting" || state == "paused"
}
