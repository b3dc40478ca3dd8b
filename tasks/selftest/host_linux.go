package selftest

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/internal/kubecluster"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// prepareHost gets what Linux runs for real in the tests: the cron daemon
// for the schedule's tests (each starts the daemon it needs) and a
// single-node Kubernetes cluster's programs for the kube tests.
func prepareHost(ctx context.Context, out *term.Printer) error {
	err := proc.EnsureTool(ctx, out, "crontab", "cron", "the schedule's tests")
	if err := optional(out, err, "the schedule's cron tests"); err != nil {
		return err
	}
	return optional(out, kubePrograms(ctx, out), "the real-cluster tests")
}

func kubePrograms(ctx context.Context, out *term.Printer) error {
	dir, err := kubecluster.CacheDir()
	if err != nil {
		return err
	}
	build := !kubecluster.Cached()
	if build {
		out.Step("building Kubernetes %s for the real-cluster tests from the Go module proxy (about 6 minutes and 4 GB, once; cached in %s)", kubecluster.Version, dir)
	}
	start := time.Now()
	if err := kubecluster.Ready(ctx, out.DetailWriter()); err != nil {
		return fmt.Errorf("no Kubernetes cluster: %w", err)
	}
	ready(out, "Kubernetes "+kubecluster.Version, build, start)
	return nil
}
