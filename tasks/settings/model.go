package settings

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
)

// ComposeProject is what the Compose command line is given: the project
// name, its files and folder, the settings file and the profiles.
func (s Settings) ComposeProject() (composecli.Project, error) {
	if err := s.RequireCompose(); err != nil {
		return composecli.Project{}, err
	}
	return composecli.Project{Name: s.Project, Dir: s.Dir, Files: s.Files, EnvFile: s.EnvFile, Profiles: s.Profiles}, nil
}

// Active is the services that run with s.Profiles switched on, sorted:
// those in no profile, and those in a switched-on one.
func (s Settings) Active() []string {
	var out []string
	if s.Model != nil {
		for name, svc := range s.Model.AllServices() {
			if len(svc.Profiles) == 0 || svc.HasProfile(s.Profiles) {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// AllProfiles is every profile a service of the project is in, sorted.
func (s Settings) AllProfiles() []string {
	var all []string
	if s.Model != nil {
		for _, svc := range s.Model.AllServices() {
			all = append(all, svc.Profiles...)
		}
	}
	return profiles(all, "")
}

// Service is the Compose model of one service.
func (s Settings) Service(name string) (types.ServiceConfig, bool) {
	if s.Model == nil {
		return types.ServiceConfig{}, false
	}
	svc, ok := s.Model.AllServices()[name]
	return svc, ok
}

// PublishedPort is a host port a service publishes.
type PublishedPort struct {
	Service string
	Port    int
	Target  int
}

// Published is the TCP ports the given services publish on the host, sorted.
func (s Settings) Published(services []string) ([]PublishedPort, error) {
	var out []PublishedPort
	for _, name := range services {
		svc, _ := s.Service(name)
		for _, p := range svc.Ports {
			if p.Published == "" || (p.Protocol != "" && p.Protocol != "tcp") {
				continue
			}
			n, err := strconv.Atoi(p.Published)
			if err != nil {
				return nil, fmt.Errorf("service %s publishes port %q: not a single port", name, p.Published)
			}
			out = append(out, PublishedPort{Service: name, Port: n, Target: int(p.Target)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}
