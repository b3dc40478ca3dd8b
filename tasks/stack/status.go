package stack

import (
	"context"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// StatusVersion is the version of env:status's JSON schema.
const StatusVersion = 1

// Status is env:status -json. The fields are a stable schema: fields may be
// added; none is renamed or removed without a new version.
type Status struct {
	Version  int             `json:"version"`
	Project  string          `json:"project"`
	Up       bool            `json:"up"` // every service running and ready
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service in a Status.
type ServiceStatus struct {
	Service
	Ready   bool    `json:"ready"`
	ProbeOK *bool   `json:"probe_ok"` // null: the service has no probe or is not running
	Probe   *string `json:"probe,omitempty"`
}

// BuildStatus combines the engine's view and the probe results.
func BuildStatus(project string, services []Service, probes map[string]error) Status {
	st := Status{Version: StatusVersion, Project: project, Up: len(services) > 0, Services: []ServiceStatus{}}
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.Name
	}
	verdicts := Judge(names, services, probes)
	for i, s := range services {
		ss := ServiceStatus{Service: s, Ready: verdicts[i].Ready}
		if s.Ports == nil {
			ss.Ports = []Port{}
		}
		if s.URLs == nil {
			ss.URLs = []string{}
		}
		if err, ok := probes[s.Name]; ok {
			okv := err == nil
			ss.ProbeOK = &okv
			probe := s.Probe
			ss.Probe = &probe
		}
		st.Up = st.Up && ss.Ready
		st.Services = append(st.Services, ss)
	}
	return st
}

// StatusOf observes the stack now.
func StatusOf(ctx context.Context, s settings.Settings) (Status, error) {
	eng, err := engine.Connect(ctx)
	if err != nil {
		return Status{}, err
	}
	defer eng.Close()
	services, err := Observe(ctx, eng, s)
	if err != nil {
		return Status{}, err
	}
	return BuildStatus(s.Project, services, ProbeAll(ctx, services)), nil
}

// PrintStatus is env:status: a table, or the JSON document.
func PrintStatus(ctx context.Context, s settings.Settings, out *term.Printer, asJSON bool) error {
	st, err := StatusOf(ctx, s)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(out.Writer(), st)
	}
	if len(st.Services) == 0 {
		return &StackDownError{Project: s.Project}
	}
	rows := [][]string{{"SERVICE", "STATE", "HEALTH", "READY", "PORTS", "URLS"}}
	for _, ss := range st.Services {
		health, ready := ss.Health, "no"
		if health == "" {
			health = "-"
		}
		if ss.Ready {
			ready = "yes"
		}
		ports := ""
		for i, p := range ss.Ports {
			if i > 0 {
				ports += " "
			}
			ports += strconv.Itoa(p.Host) + "->" + strconv.Itoa(p.Container)
		}
		rows = append(rows, []string{ss.Name, ss.State, health, ready, ports, strings.Join(ss.URLs, " ")})
	}
	out.Table(rows)
	if st.Up {
		out.OK("stack %s is up: every service ready", s.Project)
		return nil
	}
	out.Warn("stack %s is not fully up", s.Project)
	out.Next("go tool mage env:up")
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printTable(out *term.Printer, services []Service) {
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })
	rows := [][]string{{"SERVICE", "STATE", "HEALTH", "URLS"}}
	for _, s := range services {
		health := s.Health
		if health == "" {
			health = "-"
		}
		rows = append(rows, []string{s.Name, s.State, health, strings.Join(s.URLs, " ")})
	}
	out.Table(rows)
}
