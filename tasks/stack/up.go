package stack

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// UpOptions are env:up's flags.
type UpOptions struct {
	Rebuild bool
	Timeout time.Duration
}

// inMode is " (debug mode)" for a project with modes, "" without.
func inMode(mode string) string {
	if mode == "" {
		return ""
	}
	return " (" + mode + " mode)"
}

// Up is env:up: idempotent, it brings every service up and proves it ready.
func Up(ctx context.Context, s settings.Settings, out *term.Printer, opts UpOptions) error {
	start := time.Now()
	project, err := s.ComposeProject()
	if err != nil {
		return err
	}
	if s.EnvCreated {
		out.OK("created %s from %s, with new random passwords", s.EnvFile, filepath.Base(s.EnvExample))
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	digest, err := inputsDigest(s)
	if err != nil {
		return err
	}
	if !opts.Rebuild {
		if services, ok := alreadyUp(ctx, eng, s, digest); ok {
			printTable(out, services)
			out.OK("stack %s is already up and healthy%s; nothing to do", s.Project, inMode(s.Mode))
			return nil
		}
	}

	driver, err := composecli.Detect(ctx)
	if err != nil {
		return err
	}
	out.Detail("using %s; compose files: %s (%s)", driver, strings.Join(s.Files, ", "), s.Found)
	expected := s.Active()
	if err := checkPorts(ctx, eng, s, expected); err != nil {
		return err
	}
	mode := images.IfMissing
	if opts.Rebuild {
		mode = images.Always
	}
	if _, _, err := EnsureImages(ctx, eng, out, s, expected, mode); err != nil {
		return err
	}
	out.Step("starting %s%s: %s", s.Project, inMode(s.Mode), strings.Join(expected, ", "))
	err = proc.Run(ctx, out, driver.UpArgs(project, opts.Rebuild)...)
	deadline := time.Now().Add(opts.Timeout)
	if err == nil {
		err = mendLogin(ctx, eng, s, out, deadline)
	}
	var services []Service
	if err == nil {
		services, err = waitReady(ctx, eng, s, expected, deadline, opts.Timeout)
	}
	if ctx.Err() != nil {
		return &PartlyUpError{Err: ctx.Err()}
	}
	if err != nil {
		return err
	}
	if err := writeUpRecord(s.StatusFile(), upRecord{Digest: digest, Services: expected}); err != nil {
		out.Warn("could not record the stack's state: %v", err)
	}
	if err := keptSettingsOf(s).recordUp(s.EnvFile); err != nil {
		out.Warn("could not keep a copy of %s for env:rollback: %v", s.EnvFile, err)
	}
	printTable(out, services)
	out.OK("stack %s up and healthy in %s%s", s.Project, term.Duration(time.Since(start)), inMode(s.Mode))
	return nil
}
