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
	return run("images:build", "go tool mage -v images:build", func(out *term.Printer) error {
		results, err := images.EnsureAll(ctx, out, compose.Images, images.IfChanged)
		if err != nil {
			return err
		}
		made := 0
		for _, r := range results {
			if r.Outcome != images.Present {
				made++
			}
		}
		if made == 0 {
			out.OK("nothing to do: every image is present (%d)", len(results))
		} else {
			out.OK("images ready: %d made, %d already present", made, len(results)-made)
		}
		return nil
	})
}
