package stack

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// RunIn runs cmd in service: in its running container, or else in a
// one-off container of it (compose run). Its output is a detail (-v shows
// it); a failure says the exit code and the last line it printed.
func RunIn(ctx context.Context, s settings.Settings, out *term.Printer, service string, cmd []string) error {
	eng, err := engine.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	services, err := Observe(ctx, eng, s)
	if err != nil {
		return err
	}
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
			return fmt.Errorf("`%s` in %s: %w", strings.Join(cmd, " "), service, err)
		case code != 0:
			return fmt.Errorf("`%s` in %s exited %d: %s", strings.Join(cmd, " "), service, code, orNoOutput(tail.Cause()))
		}
		return nil
	}
	driver, err := composecli.Detect(ctx)
	if err != nil {
		return err
	}
	project, err := s.ComposeProject()
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
