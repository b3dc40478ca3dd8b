package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// ensureDebootstrap checks what a local base build needs from the host:
// root, and debootstrap, which it installs with apt-get when it can.
func ensureDebootstrap(ctx context.Context, out *term.Printer) error {
	if os.Geteuid() != 0 {
		return errors.New("building a base image with debootstrap needs root: run `sudo go tool mage images:build` once, or make the image pullable from a registry")
	}
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("debootstrap is not installed and there is no apt-get to install it: install debootstrap, then run `go tool mage images:build`")
	}
	out.Step("installing debootstrap with apt-get")
	if err := proc.Run(ctx, out, "apt-get", "update", "-qq"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := proc.Run(ctx, out, "apt-get", "install", "-y", "-qq", "debootstrap"); err != nil {
		return fmt.Errorf("apt-get install debootstrap: %w", err)
	}
	return nil
}
