package tasks

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/compose"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Images makes the container images the stack and the tests need.
type Images mg.Namespace

// Build makes every image the stack and the tests need: kept if present, pulled if missing, built from Debian packages when no registry answers.
func (Images) Build(ctx context.Context) error {
	out := term.Stdout()
	results, err := images.EnsureAll(ctx, out, compose.Images)
	if err != nil {
		return out.Failed("images:build", err, "go tool mage -v images:build")
	}
	built := 0
	for _, r := range results {
		if r.Outcome != images.Present {
			built++
		}
	}
	if built == 0 {
		out.OK("nothing to do: every image is present (%d)", len(results))
	} else {
		out.OK("images ready: %d made, %d already present", built, len(results)-built)
	}
	return nil
}
