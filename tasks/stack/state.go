package stack

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
)

// Service is what the engine says about one service's container.
type Service struct {
	Name         string    `json:"service"`
	Container    string    `json:"container"`
	ID           string    `json:"-"`
	State        string    `json:"state"`  // running, exited, restarting, created, paused, dead
	Health       string    `json:"health"` // healthy, unhealthy, starting, or "" without a healthcheck
	ExitCode     int       `json:"exit_code"`
	RestartCount int       `json:"restart_count"`
	StartedAt    time.Time `json:"started_at"`
	Ports        []Port    `json:"ports"`
	Mode         string    `json:"mode"`
	Probe        string    `json:"-"`
	Checks       []string  `json:"-"`
	URLs         []string  `json:"urls"`
}

// Port is a port a service publishes on the host.
type Port struct {
	Host      int    `json:"host"`
	Container int    `json:"container"`
	Protocol  string `json:"protocol"`
}

// Observe returns the containers of the stack, one per service (one-off
// `run` containers left out), sorted by service, with the probes and URLs
// the settings declare for services whose labels do not.
func Observe(ctx context.Context, eng *engine.Engine, s settings.Settings) ([]Service, error) {
	services, err := observe(ctx, eng, s.Project)
	for i := range services {
		declare(&services[i], s.Services[services[i].Name])
	}
	return services, err
}

// connectAndObserve connects to the engine and observes the stack; the
// caller closes the engine.
func connectAndObserve(ctx context.Context, s settings.Settings) (*engine.Engine, []Service, error) {
	eng, err := engine.Connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	services, err := Observe(ctx, eng, s)
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	return eng, services, nil
}

// declare fills what the labels left unsaid from the settings.
func declare(svc *Service, d settings.Service) {
	if svc.Probe == "" {
		svc.Probe = d.Probe
	}
	if len(svc.URLs) == 0 {
		svc.URLs = d.URLs
	}
	if len(svc.Checks) == 0 {
		svc.Checks = d.Checks
	}
}

func observe(ctx context.Context, eng *engine.Engine, project string) ([]Service, error) {
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", composecli.LabelProject+"="+project),
	})
	if err != nil {
		return nil, fmt.Errorf("list the containers of %s: %w", project, err)
	}
	var out []Service
	for _, c := range list.Items {
		if c.Labels[composecli.LabelOneOff] == "True" {
			continue
		}
		ins, err := eng.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, fromInspect(ins.Container))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func fromInspect(c container.InspectResponse) Service {
	s := Service{ID: c.ID, Container: strings.TrimPrefix(c.Name, "/"), RestartCount: c.RestartCount}
	if c.Config != nil {
		l := c.Config.Labels
		s.Name, s.Mode, s.Probe = l[composecli.LabelService], l[LabelMode], l[LabelProbe]
		s.URLs = strings.Fields(l[LabelURLs])
		s.Checks = strings.Fields(l[LabelChecks])
	}
	if st := c.State; st != nil {
		s.State, s.ExitCode = string(st.Status), st.ExitCode
		s.StartedAt, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
		if st.Health != nil {
			s.Health = string(st.Health.Status)
		}
	}
	if c.NetworkSettings != nil {
		for p, bindings := range c.NetworkSettings.Ports {
			for _, b := range bindings {
				var host int
				fmt.Sscan(b.HostPort, &host)
				if host > 0 && (b.HostIP.String() == "0.0.0.0" || !b.HostIP.IsValid() || b.HostIP.Is4()) {
					s.Ports = append(s.Ports, Port{Host: host, Container: int(p.Num()), Protocol: string(p.Proto())})
				}
			}
		}
		sort.Slice(s.Ports, func(i, j int) bool { return s.Ports[i].Host < s.Ports[j].Host })
	}
	return s
}
