package tasks

import (
	"context"

	"github.com/magefile/mage/mg"

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
