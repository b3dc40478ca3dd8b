package diag

import (
	"context"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// checkCompose finds Compose and has it read the compose files (its
// version and the config are asked for at once: two processes, one wait),
// then names what holds a port the stack needs, since that is what would
// stop a service from starting (running: the stack's containers, observed).
func checkCompose(ctx context.Context, s settings.Settings, eng *engine.Engine, running []stack.Service) []Check {
	ch := Check{ID: "compose", Group: "machine"}
	project, err := s.ComposeProject()
	if err != nil {
		ch.Status, ch.Summary, ch.Next = Fail, err.Error(), term.NextOf(err)
		return []Check{ch}
	}
	for _, candidate := range composecli.Chosen() {
		// The probe's goroutine has a Driver of its own: driver is read
		// here meanwhile, and takes the version only once the probe ended.
		driver := composecli.Driver{Command: candidate}
		var probed composecli.Driver
		var probeErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			probed, probeErr = composecli.Probe(ctx, candidate)
		}()
		_, cfgErr := composecli.Output(ctx, driver.ConfigArgs(project))
		<-done
		if probeErr != nil {
			continue // not installed: try the next one
		}
		driver.Version = probed.Version
		if cfgErr != nil {
			ch.Status, ch.Summary, ch.Next = Fail, fmt.Sprintf("%s: the compose files are not valid: %v", driver, cfgErr), strings.Join(driver.ConfigArgs(project), " ")
			return []Check{ch}
		}
		ch.Status, ch.Summary = OK, fmt.Sprintf("%s; compose files valid", driver)
		if driver.V1() {
			ch.Status, ch.Summary = Warn, ch.Summary+" (docker-compose v1 is end-of-life: install the Compose v2 plugin)"
		}
		if eng == nil {
			return []Check{ch}
		}
		return []Check{ch, checkPorts(ctx, eng, s, running)}
	}
	ch.Status, ch.Summary, ch.Next = Fail, composecli.ErrNoCompose.Error(), "docker compose version"
	return []Check{ch}
}
