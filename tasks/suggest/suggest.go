// Package suggest is what env:init tells a team starting with stevedore:
// the x-stevedore block that states what stevedore inferred from their
// Compose files, and a .env.example for the secrets written inline in them.
package suggest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/tasks/settings"
)

// Secret is a secret written inline in a Compose file.
type Secret struct {
	File, Service, Key string
	InURL              bool // a password inside a connection URL
}

var (
	secretKey   = regexp.MustCompile(`(?i)(PASSWORD|SECRET|TOKEN)$`)
	passwordURL = regexp.MustCompile(`://[^:/@\s]+:([^@\s]+)@`)
)

// InlineSecrets finds the secrets the Compose files hold as literal values
// (not ${VARIABLES}), reading the files as written, before interpolation.
func InlineSecrets(files []string) ([]Secret, error) {
	var out []Secret
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Services map[string]struct {
				Environment any `yaml:"environment"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		for name, svc := range doc.Services {
			for k, v := range environment(svc.Environment) {
				switch {
				case strings.Contains(v, "${") || v == "":
				case secretKey.MatchString(k):
					out = append(out, Secret{File: filepath.Base(f), Service: name, Key: k})
				case passwordURL.MatchString(v) && !strings.Contains(passwordURL.FindStringSubmatch(v)[1], "$"):
					out = append(out, Secret{File: filepath.Base(f), Service: name, Key: k, InURL: true})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// environment reads a service's environment in either of Compose's forms:
// a map, or a list of KEY=VALUE.
func environment(raw any) map[string]string {
	env := map[string]string{}
	switch e := raw.(type) {
	case map[string]any:
		for k, v := range e {
			if v != nil {
				env[k] = fmt.Sprint(v)
			}
		}
	case []any:
		for _, item := range e {
			if k, v, ok := strings.Cut(fmt.Sprint(item), "="); ok {
				env[k] = v
			}
		}
	}
	return env
}

// EnvExample is a .env.example for the inline secrets: each becomes a
// variable, which env:up fills with a random value in .env.
func EnvExample(secrets []Secret) string {
	var b strings.Builder
	b.WriteString("# Settings of this stack. `go tool mage env:up` copies this file to .env\n")
	b.WriteString("# and puts a random value in every *PASSWORD; keep .env out of git.\n")
	seen := map[string]bool{}
	for _, s := range secrets {
		if s.InURL || seen[s.Key] {
			continue
		}
		seen[s.Key] = true
		fmt.Fprintf(&b, "%s=change-me\n", s.Key)
	}
	return b.String()
}

// Block is the x-stevedore block that states what stevedore inferred, with
// the settings it could not infer as comments to fill in.
func Block(s settings.Settings) string {
	var b strings.Builder
	line := func(key, value, why string) {
		fmt.Fprintf(&b, "  %s: %s", key, value)
		if why != "" {
			fmt.Fprintf(&b, "  # %s", why)
		}
		b.WriteString("\n")
	}
	b.WriteString(settings.ExtensionKey + ":\n")
	line("project", s.Project, s.Sources["project"])
	line("database", s.DBService, s.Sources["database"])
	backups := s.BackupDir
	if rel, err := filepath.Rel(s.Dir, absolute(backups)); err == nil {
		backups = filepath.ToSlash(rel)
	}
	line("backups", backups, "relative to this file")
	if len(s.Modes) == 0 {
		b.WriteString("  # modes:                      # extra files and profiles per way of running\n")
		b.WriteString("  #   debug: {files: [compose.debug.yaml]}\n")
		b.WriteString("  # default_mode: debug\n")
	}
	if s.Migrations == nil {
		b.WriteString("  # migrations:                 # the doctor's check that the schema is current\n")
		b.WriteString("  #   query: SELECT version_num FROM alembic_version\n")
	}
	if len(s.Services) == 0 {
		b.WriteString("  # services:                   # readiness probes and URLs to show, per service\n")
		b.WriteString("  #   api: {probe: \"http://localhost:8000/health\", urls: [\"http://localhost:8000/docs\"]}\n")
	}
	return b.String()
}

func absolute(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
