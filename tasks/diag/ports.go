package diag

import (
	"context"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
)

// checkPorts names every port the stack needs that something else holds
// (stack.PortConflicts: the rule env:up applies before it starts).
func checkPorts(ctx context.Context, eng *engine.Engine, s settings.Settings, running []stack.Service) Check {
	ch := Check{ID: "ports", Group: "services", Status: OK, Summary: "no port the stack needs is held by something else"}
	if !eng.Local() {
		ch.Summary = fmt.Sprintf("ports not checked: the engine (%s) publishes them on its own machine", eng.DaemonHost())
		return ch
	}
	conflicts, err := stack.PortConflicts(ctx, eng, s, s.Active(), running)
	if err != nil {
		ch.Status, ch.Summary = Warn, err.Error()
		return ch
	}
	var busy []string
	for _, c := range conflicts {
		busy = append(busy, fmt.Sprintf("port %d (for %s) is held by %s", c.Port, c.Service, c.HolderName()))
		ch.Next = c.Next()
	}
	if len(busy) > 0 {
		ch.Status, ch.Summary = Fail, strings.Join(busy, "; ")
	}
	return ch
}
