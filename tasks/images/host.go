package images

import (
	"context"
	"errors"
	"os"

	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// ensureDebootstrap checks what a local base build needs from the host:
// root, and debootstrap, which it installs with apt-get when it can.
func ensureDebootstrap(ctx context.Context, out *term.Printer) error {
	if os.Geteuid() != 0 {
		return errors.New("building a base image with debootstrap needs root: run `sudo go tool mage images:build` once, or make the image pullable from a registry")
	}
	return proc.EnsureTool(ctx, out, "debootstrap", "debootstrap", "building a base image")
}
