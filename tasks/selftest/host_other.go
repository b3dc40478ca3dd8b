//go:build !linux

package selftest

import (
	"context"

	"github.com/stevedore-dev/stevedore/tasks/term"
)

// prepareHost has nothing to get off Linux: the cron and real-cluster tests
// are Linux's own.
func prepareHost(context.Context, *term.Printer) error { return nil }
