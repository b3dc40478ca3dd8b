package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/stevedore-dev/stevedore/tasks/term"
)

// EnsureTool makes sure command is on PATH, installing Debian package pkg
// with apt-get when it is missing and this process can (root, apt-get);
// otherwise it says what to install. why says what it is for.
func EnsureTool(ctx context.Context, out *term.Printer, command, pkg, why string) error {
	if _, err := exec.LookPath(command); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("%s needs %s: install the %s package", why, command, pkg)
	}
	out.Step("installing %s with apt-get, for %s", pkg, why)
	if err := Run(ctx, out, "apt-get", "update", "-qq"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := Run(ctx, out, "apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg); err != nil {
		return fmt.Errorf("apt-get install %s: %w", pkg, err)
	}
	return nil
}
