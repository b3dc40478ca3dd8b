package stack

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
)

// PortConflict is a port a service publishes that something else holds.
type PortConflict struct {
	Port    int
	Service string
	Holder  string // who holds it, "" when that cannot be told
}

// HolderName names the holder for people: "another program" when unknown.
func (c PortConflict) HolderName() string {
	if c.Holder == "" {
		return "another program"
	}
	return c.Holder
}

// Next is the command that shows who listens on the port.
func (c PortConflict) Next() string { return fmt.Sprintf("ss -ltnp 'sport = :%d'", c.Port) }

// PortConflicts lists the ports the given services publish that are held
// by something other than this stack's own containers (running, as the
// caller observed them): what would stop them from starting. env:up
// refuses to start on one; the doctor names them all. An engine on another
// machine publishes on that machine, so nothing here can be checked:
// Compose says if a port is taken there.
func PortConflicts(ctx context.Context, eng *engine.Engine, s settings.Settings, services []string, running []Service) ([]PortConflict, error) {
	if !eng.Local() {
		return nil, nil
	}
	published, err := s.Published(services)
	if err != nil {
		return nil, err
	}
	ours := map[int]bool{}
	for _, svc := range running {
		for _, p := range svc.Ports {
			ours[p.Host] = true
		}
	}
	var conflicts []PortConflict
	for _, p := range published {
		if ours[p.Port] || PortFree(p.Port) {
			continue
		}
		conflicts = append(conflicts, PortConflict{Port: p.Port, Service: p.Service, Holder: HolderOf(ctx, eng, p.Port)})
	}
	return conflicts, nil
}

// checkPorts fails before anything starts when a port the stack publishes
// is held by something other than this stack.
func checkPorts(ctx context.Context, eng *engine.Engine, s settings.Settings, services []string) error {
	running, _ := observe(ctx, eng, s.Project) // none seen: every port must be free
	conflicts, err := PortConflicts(ctx, eng, s, services, running)
	if err != nil || len(conflicts) == 0 {
		return err
	}
	return &PortBusyError{PortConflict: conflicts[0]}
}
