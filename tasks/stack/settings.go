// Package stack is what the env:* targets do: bring the compose stack up
// healthy, down (after a backup), back, and report on it. Compose starts and
// stops containers; their state, health and logs come from the Engine API,
// and readiness is proven by each service's own probe.
package stack

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
)

// Modes of the stack.
const (
	Debug      = "debug"
	Production = "production"
)

// Labels a compose file puts on its services for stevedore.
const (
	LabelMode  = "dev.stevedore.mode"  // the mode the container was started in
	LabelProbe = "dev.stevedore.probe" // an http(s) URL answering 200 when the service is ready
	LabelURLs  = "dev.stevedore.urls"  // space-separated URLs to show people
	// LabelChecks lists further URLs the doctor checks: each must answer 200,
	// and those ending in .json must hold valid JSON.
	LabelChecks = "dev.stevedore.checks"
)

// Settings say which stack to run and how.
type Settings struct {
	Project    string // compose project name
	Dir        string // folder of the compose files
	EnvFile    string // settings file (created from .env.example when missing)
	Mode       string
	Profiles   []string
	BackupDir  string
	DBService  string
	LogFile    string
	StatusFile string // what the last successful env:up started, for the fast path
}

// DefaultSettings reads STEVEDORE_PROJECT (stevedore), STEVEDORE_COMPOSE_DIR
// (compose), STEVEDORE_ENV_FILE (compose/.env), STEVEDORE_DB_SERVICE (db),
// STEVEDORE_BACKUP_DIR (database/backups) and STEVEDORE_STATE_DIR (.stevedore).
func DefaultSettings() Settings {
	dir := envOr("STEVEDORE_COMPOSE_DIR", "compose")
	state := envOr("STEVEDORE_STATE_DIR", ".stevedore")
	return Settings{
		Project:    envOr("STEVEDORE_PROJECT", "stevedore"),
		Dir:        dir,
		EnvFile:    envOr("STEVEDORE_ENV_FILE", filepath.Join(dir, ".env")),
		Mode:       Debug,
		BackupDir:  envOr("STEVEDORE_BACKUP_DIR", "database/backups"),
		DBService:  envOr("STEVEDORE_DB_SERVICE", "db"),
		LogFile:    filepath.Join(state, "stevedore.log"),
		StatusFile: filepath.Join(state, "up.json"),
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Files are the compose files of a mode: the base file, plus the debug
// overrides in debug mode.
func Files(dir, mode string) ([]string, error) {
	switch mode {
	case Production:
		return []string{filepath.Join(dir, "docker-compose.yml")}, nil
	case Debug:
		return []string{filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, "docker-compose.debug.yml")}, nil
	}
	return nil, fmt.Errorf("unknown mode %q: use debug or production", mode)
}

// Project is the compose project for s.
func (s Settings) ComposeProject() (composecli.Project, error) {
	files, err := Files(s.Dir, s.Mode)
	if err != nil {
		return composecli.Project{}, err
	}
	return composecli.Project{Name: s.Project, Files: files, EnvFile: s.EnvFile, Profiles: s.Profiles}, nil
}

var secretLine = regexp.MustCompile(`(?m)^([A-Z_]*PASSWORD)=.*$`)

// EnvFromExample is the settings file made from .env.example: every
// *PASSWORD gets a fresh random value, so no committed secret is ever used.
func EnvFromExample(example string, random func() string) string {
	return secretLine.ReplaceAllStringFunc(example, func(line string) string {
		k, _, _ := strings.Cut(line, "=")
		return k + "=" + random()
	})
}

// EnsureEnvFile creates s.EnvFile from .env.example beside the compose files
// when it is missing, private to the user, and reports whether it did.
func EnsureEnvFile(s Settings) (bool, error) {
	if _, err := os.Stat(s.EnvFile); err == nil {
		return false, nil
	}
	example, err := os.ReadFile(filepath.Join(s.Dir, ".env.example"))
	if err != nil {
		return false, fmt.Errorf("no %s and no .env.example to make it from: %w", s.EnvFile, err)
	}
	data := EnvFromExample(string(example), rand.Text)
	if err := os.WriteFile(s.EnvFile, []byte(data), 0o600); err != nil {
		return false, fmt.Errorf("write %s: %w", s.EnvFile, err)
	}
	return true, nil
}
