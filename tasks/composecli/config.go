package composecli

import (
	"fmt"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Config is what stevedore needs from `compose config`.
type Config struct {
	Services map[string]Service `yaml:"services"`
}

// Service is one service of a Config.
type Service struct {
	Image       string            `yaml:"image"`
	Profiles    []string          `yaml:"profiles"`
	Ports       []Port            `yaml:"ports"`
	Labels      map[string]string `yaml:"labels"`
	Healthcheck *struct {
		Disable bool `yaml:"disable"`
	} `yaml:"healthcheck"`
}

// Port is a published port in compose's long syntax. Compose v2 writes the
// published port as a string, v1 as a number; both are read.
type Port struct {
	Target    int    `yaml:"target"`
	Published string `yaml:"published"`
	Protocol  string `yaml:"protocol"`
	HostIP    string `yaml:"host_ip"`
}

// ParseConfig reads `compose config` output.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("read compose config: %w", err)
	}
	return c, nil
}

// Profiles returns every profile any service is in, sorted.
func (c Config) Profiles() []string {
	seen := map[string]bool{}
	for _, s := range c.Services {
		for _, p := range s.Profiles {
			seen[p] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Active returns the services that run with the given profiles enabled,
// sorted: those in no profile, and those in an enabled one.
func (c Config) Active(profiles []string) []string {
	on := map[string]bool{}
	for _, p := range profiles {
		on[p] = true
	}
	var out []string
	for name, s := range c.Services {
		active := len(s.Profiles) == 0
		for _, p := range s.Profiles {
			active = active || on[p]
		}
		if active {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// PublishedPort is a host port a service publishes.
type PublishedPort struct {
	Service string
	Port    int
	Target  int
}

// Published returns the TCP ports the given services publish on the host.
func (c Config) Published(services []string) ([]PublishedPort, error) {
	var out []PublishedPort
	for _, name := range services {
		for _, p := range c.Services[name].Ports {
			if p.Published == "" || (p.Protocol != "" && p.Protocol != "tcp") {
				continue
			}
			n, err := strconv.Atoi(p.Published)
			if err != nil {
				return nil, fmt.Errorf("service %s publishes port %q: not a single port", name, p.Published)
			}
			out = append(out, PublishedPort{Service: name, Port: n, Target: p.Target})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}
