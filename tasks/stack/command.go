package stack

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// RunIn runs cmd in service: in its running container, or else in a
// one-off container of it (compose run). Its output is a detail (-v shows
// it); a failure says the exit code and the last line it printed (the
// caller has shown the command).
func RunIn(ctx context.Context, s settings.Settings, out *term.Printer, service string, cmd []string) error {
	eng, services, err := connectAndObserve(ctx, s)
	if err != nil {
		return err
	}
	defer eng.Close()
	for _, svc := range services {
		if svc.Name != service || svc.State != "running" {
			continue
		}
		out.Detail("$ (in %s) %s", svc.Container, strings.Join(cmd, " "))
		tail := &proc.Tail{}
		w := io.MultiWriter(out.DetailWriter(), tail)
		code, err := eng.ExecStream(ctx, svc.ID, cmd, nil, nil, w, w)
		switch {
		case err != nil:
			return fmt.Errorf("in %s: %w", service, err)
		case code != 0:
			return fmt.Errorf("exited %d in %s: %s", code, service, orNoOutput(tail.Cause()))
		}
		return nil
	}
	driver, project, err := composeOf(ctx, s)
	if err != nil {
		return err
	}
	return proc.Run(ctx, out, driver.RunArgs(project, service, cmd)...)
}

func orNoOutput(s string) string {
	if s == "" {
		return "(no output)"
	}
	return s
}

// composeOf detects Compose and loads the project it runs.
func composeOf(ctx context.Context, s settings.Settings) (composecli.Driver, composecli.Project, error) {
	driver, err := composecli.Detect(ctx)
	if err != nil {
		return driver, composecli.Project{}, err
	}
	project, err := s.ComposeProject()
	return driver, project, err
}
