package stack

import (
	"context"
	"strings"

	"github.com/stevedore-dev/stevedore/compose"
	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// EnsureImages makes present the images of the given services that
// Compose does not build itself (see images.EnsureService), and returns
// the services Compose builds.
func EnsureImages(ctx context.Context, eng *engine.Engine, out *term.Printer, s settings.Settings, services []string, mode images.Mode) (built []string, results []images.Result, err error) {
	ensurer := images.NewEnsurer(eng, out, compose.Images)
	for _, name := range services {
		svc, _ := s.Service(name)
		if svc.Build != nil {
			built = append(built, name)
			continue
		}
		r, err := ensurer.EnsureService(ctx, name, svc.Image, mode)
		if err != nil {
			return built, results, err
		}
		if r.Outcome != images.Present {
			out.OK("%s: %s in %s", r.Ref, r.Outcome, term.Duration(r.Took))
		}
		results = append(results, r)
	}
	return built, results, nil
}

// BuildImages is images:build: the images of the active services made
// present (stevedore's own rebuilt when their recipe changed), and those
// with build: sections built by Compose.
func BuildImages(ctx context.Context, s settings.Settings, out *term.Printer) error {
	project, err := s.ComposeProject()
	if err != nil {
		return err
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	built, results, err := EnsureImages(ctx, eng, out, s, s.Active(), images.IfChanged)
	if err != nil {
		return err
	}
	if len(built) > 0 {
		driver, err := composecli.Detect(ctx)
		if err != nil {
			return err
		}
		out.Step("building %s with %s", strings.Join(built, ", "), driver)
		if err := proc.Run(ctx, out, driver.Args(project, append([]string{"build"}, built...)...)...); err != nil {
			return err
		}
	}
	made := len(built)
	for _, r := range results {
		if r.Outcome != images.Present {
			made++
		}
	}
	out.OK("images of %s ready: %d made or built, %d already present", s.Project, made, len(results)+len(built)-made)
	return nil
}
