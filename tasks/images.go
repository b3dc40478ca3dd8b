package tasks

import (
	"cmp"
	"context"
	"fmt"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/compose"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Images makes the container images the stack needs.
type Images mg.Namespace

// Build makes the images the stack's services need: Compose builds those with build: sections; others are kept if present, pulled if missing, or made from stevedore's recipes (stevedore's own, any postgres:15) when no registry answers.
func (Images) Build(ctx context.Context,
	tools *bool, // also the images of the tools profile (bundled stack: pgadmin)
) error {
	return run(ctx, job{name: "images:build", next: "go tool mage -v images:build", flags: envFlags(nil, tools), makeEnvFile: true}, func(out *term.Printer, s settings.Settings) error {
		return stack.BuildImages(ctx, s, out)
	})
}

// Cli builds the image schedule:kube's CronJob runs: this checkout's targets compiled for Linux and a static kubectl, FROM scratch.
func (Images) Cli(ctx context.Context,
	kubectl *string, // a static Linux kubectl for this machine's architecture (default: the one on PATH)
	image *string, // the image's name (default stevedore/cli:local)
) error {
	return run(ctx, job{name: "images:cli", next: "go tool mage -v images:cli"}, func(out *term.Printer, s settings.Settings) error {
		r, err := images.MakeCLI(ctx, out, compose.Images, cmp.Or(str(image), images.CLI.Ref), str(kubectl))
		if err != nil {
			return err
		}
		out.OK("%s: built in %s", r.Ref, term.Duration(r.Took))
		fmt.Fprintf(out.Writer(), "  schedule  go tool mage schedule:kube -image=%s -push | kubectl apply -f -\n", r.Ref)
		return nil
	})
}
