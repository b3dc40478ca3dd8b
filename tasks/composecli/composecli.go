// Package composecli drives the Docker Compose command line for a stack's
// lifecycle: Compose v2 (`docker compose`) first, v1 (`docker-compose`) as a
// fallback. Command lines are built by pure functions; state, health and logs
// come from the Engine API, not from Compose's output.
package composecli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Labels Compose puts on the containers it runs.
const (
	LabelProject = "com.docker.compose.project"
	LabelService = "com.docker.compose.service"
	LabelOneOff  = "com.docker.compose.oneoff"
)

// Driver is one Compose implementation.
type Driver struct {
	Command []string // "docker compose" or "docker-compose"
	Version string
}

// V1 reports whether the driver is the end-of-life docker-compose v1.
func (d Driver) V1() bool { return d.Command[0] == "docker-compose" }

func (d Driver) String() string {
	return fmt.Sprintf("%s %s", strings.Join(d.Command, " "), d.Version)
}

// Candidates are the drivers to try, in order. STEVEDORE_COMPOSE=v1 or v2
// picks one.
func Candidates(choice string) [][]string {
	v2, v1 := []string{"docker", "compose"}, []string{"docker-compose"}
	switch choice {
	case "v1":
		return [][]string{v1}
	case "v2":
		return [][]string{v2}
	}
	return [][]string{v2, v1}
}

// Chosen is the Candidates STEVEDORE_COMPOSE allows.
func Chosen() [][]string { return Candidates(os.Getenv("STEVEDORE_COMPOSE")) }

// ErrNoCompose says neither Compose v2 nor v1 answered.
var ErrNoCompose = errors.New("Docker Compose not found: install the Compose v2 plugin (`docker compose version` must work) or docker-compose")

// Detect finds a working Compose among the Candidates.
func Detect(ctx context.Context) (Driver, error) {
	for _, c := range Chosen() {
		if d, err := Probe(ctx, c); err == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			return Driver{}, ctx.Err()
		}
	}
	return Driver{}, ErrNoCompose
}

// Installed is the versions ("v2", "v1") that answer here, v2 first.
func Installed(ctx context.Context) []string {
	var found []string
	for _, v := range []string{"v2", "v1"} {
		if _, err := Probe(ctx, Candidates(v)[0]); err == nil {
			found = append(found, v)
		}
	}
	return found
}

// Probe asks one candidate command for its version.
func Probe(ctx context.Context, command []string) (Driver, error) {
	args := append(append([]string(nil), command...), "version", "--short")
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).Output()
	if err != nil {
		return Driver{}, err
	}
	return Driver{Command: command, Version: strings.TrimSpace(string(out))}, nil
}

// Project is a compose project: its name, folder, files, settings file
// and profiles.
type Project struct {
	Name     string
	Dir      string // --project-directory: relative paths in the files resolve here
	Files    []string
	EnvFile  string // "" when the project has none
	Profiles []string
}

// Args is the full command line of a compose subcommand on p.
func (d Driver) Args(p Project, sub ...string) []string {
	args := append([]string(nil), d.Command...)
	args = append(args, "-p", p.Name)
	if p.Dir != "" {
		args = append(args, "--project-directory", p.Dir)
	}
	for _, f := range p.Files {
		args = append(args, "-f", f)
	}
	if p.EnvFile != "" {
		args = append(args, "--env-file", p.EnvFile)
	}
	for _, pr := range p.Profiles {
		args = append(args, "--profile", pr)
	}
	return append(args, sub...)
}

// UpArgs starts the project's services in the background. Images of
// services with build: sections are built by Compose when missing, or
// always with build; every other image is made present beforehand.
func (d Driver) UpArgs(p Project, build bool) []string {
	args := d.Args(p, "up", "-d", "--remove-orphans")
	if build {
		args = append(args, "--build")
	}
	return args
}

// DownArgs stops and removes the project's containers (of every profile in
// p: a down without a profile leaves that profile's services running), and
// with volumes its named volumes too.
func (d Driver) DownArgs(p Project, volumes bool) []string {
	args := d.Args(p, "down", "--remove-orphans")
	if volumes {
		args = append(args, "--volumes")
	}
	return args
}

// RunArgs runs cmd once in a new container of service, without its
// dependencies and without a terminal, and removes the container after.
// cmd is the whole command line, as for an exec: it replaces the image's
// entrypoint too.
func (d Driver) RunArgs(p Project, service string, cmd []string) []string {
	return append(d.Args(p, "run", "--rm", "--no-deps", "-T", "--entrypoint", cmd[0], service), cmd[1:]...)
}

// ConfigArgs prints the project's resolved configuration as YAML.
func (d Driver) ConfigArgs(p Project) []string { return d.Args(p, "config") }

// Output runs a compose command and returns its standard output; a failure
// carries the last line compose printed on standard error.
func Output(ctx context.Context, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		return nil, fmt.Errorf("%s %s: %w: %s", args[0], strings.Join(args[1:3], " "), err, lines[len(lines)-1])
	}
	return out, nil
}
