package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/compose"
	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// UpOptions are env:up's flags.
type UpOptions struct {
	Rebuild bool
	Timeout time.Duration
}

// upRecord is what a successful env:up leaves in Settings.StatusFile: the
// services it started and a digest of what it started them from, so that
// the next env:up can tell in milliseconds that nothing needs doing.
type upRecord struct {
	Digest   string   `json:"digest"`
	Services []string `json:"services"`
}

// inputsDigest fingerprints what the stack is started from: the compose
// files, the settings file, the mode and the profiles.
func inputsDigest(s settings.Settings) (string, error) {
	h := sha256.New()
	files := append([]string(nil), s.Files...)
	if s.EnvFile != "" {
		files = append(files, s.EnvFile)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s", s.Project, s.Mode, strings.Join(s.Profiles, ","))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// inMode is " (debug mode)" for a project with modes, "" without.
func inMode(mode string) string {
	if mode == "" {
		return ""
	}
	return " (" + mode + " mode)"
}

// Up is env:up: idempotent, it brings every service up and proves it ready.
func Up(ctx context.Context, s settings.Settings, out *term.Printer, opts UpOptions) error {
	start := time.Now()
	project, err := s.ComposeProject()
	if err != nil {
		return err
	}
	if s.EnvCreated {
		out.OK("created %s from %s, with new random passwords", s.EnvFile, filepath.Base(s.EnvExample))
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	digest, err := inputsDigest(s)
	if err != nil {
		return err
	}
	if !opts.Rebuild {
		if services, ok := alreadyUp(ctx, eng, s, digest); ok {
			printTable(out, services)
			out.OK("stack %s is already up and healthy%s; nothing to do", s.Project, inMode(s.Mode))
			return nil
		}
	}

	driver, err := composecli.Detect(ctx)
	if err != nil {
		return err
	}
	out.Detail("using %s; compose files: %s (%s)", driver, strings.Join(s.Files, ", "), s.Found)
	expected := s.Active()
	if err := checkPorts(ctx, eng, s, expected); err != nil {
		return err
	}
	mode := images.IfMissing
	if opts.Rebuild {
		mode = images.Always
	}
	if _, _, err := EnsureImages(ctx, eng, out, s, expected, mode); err != nil {
		return err
	}
	out.Step("starting %s%s: %s", s.Project, inMode(s.Mode), strings.Join(expected, ", "))
	err = proc.Run(ctx, out, driver.UpArgs(project, opts.Rebuild)...)
	deadline := time.Now().Add(opts.Timeout)
	if err == nil {
		err = mendLogin(ctx, eng, s, out, deadline)
	}
	var services []Service
	if err == nil {
		services, err = waitReady(ctx, eng, s, expected, deadline, opts.Timeout)
	}
	if ctx.Err() != nil {
		return &PartlyUpError{Err: ctx.Err()}
	}
	if err != nil {
		return err
	}
	if err := writeUpRecord(s.StatusFile(), upRecord{Digest: digest, Services: expected}); err != nil {
		out.Warn("could not record the stack's state: %v", err)
	}
	printTable(out, services)
	out.OK("stack %s up and healthy in %s%s", s.Project, term.Duration(time.Since(start)), inMode(s.Mode))
	return nil
}

// EnsureImages makes present the images of the given services that
// Compose does not build itself (see images.EnsureService), and returns
// the services Compose builds.
func EnsureImages(ctx context.Context, eng *engine.Engine, out *term.Printer, s settings.Settings, services []string, mode images.Mode) (built []string, results []images.Result, err error) {
	ensurer := images.NewEnsurer(eng, out, compose.Images)
	for _, name := range services {
		svc, _ := s.Service(name)
		if svc.Build != nil {
			built = append(built, name)
			continue
		}
		r, err := ensurer.EnsureService(ctx, name, svc.Image, mode)
		if err != nil {
			return built, results, err
		}
		if r.Outcome != images.Present {
			out.OK("%s: %s in %s", r.Ref, r.Outcome, term.Duration(r.Took))
		}
		results = append(results, r)
	}
	return built, results, nil
}

// BuildImages is images:build: the images of the active services made
// present (stevedore's own rebuilt when their recipe changed), and those
// with build: sections built by Compose.
func BuildImages(ctx context.Context, s settings.Settings, out *term.Printer) error {
	project, err := s.ComposeProject()
	if err != nil {
		return err
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	built, results, err := EnsureImages(ctx, eng, out, s, s.Active(), images.IfChanged)
	if err != nil {
		return err
	}
	if len(built) > 0 {
		driver, err := composecli.Detect(ctx)
		if err != nil {
			return err
		}
		out.Step("building %s with %s", strings.Join(built, ", "), driver)
		if err := proc.Run(ctx, out, driver.Args(project, append([]string{"build"}, built...)...)...); err != nil {
			return err
		}
	}
	made := len(built)
	for _, r := range results {
		if r.Outcome != images.Present {
			made++
		}
	}
	out.OK("images of %s ready: %d made or built, %d already present", s.Project, made, len(results)+len(built)-made)
	return nil
}

// alreadyUp reports whether the services the last env:up started from the
// same inputs are all still ready.
func alreadyUp(ctx context.Context, eng *engine.Engine, s settings.Settings, digest string) ([]Service, bool) {
	data, err := os.ReadFile(s.StatusFile())
	if err != nil {
		return nil, false
	}
	var rec upRecord
	if json.Unmarshal(data, &rec) != nil || rec.Digest != digest || len(rec.Services) == 0 {
		return nil, false
	}
	services, err := Observe(ctx, eng, s)
	if err != nil {
		return nil, false
	}
	for _, r := range Judge(rec.Services, services, ProbeAll(ctx, services)) {
		if !r.Ready {
			return nil, false
		}
	}
	return services, true
}

func writeUpRecord(path string, rec upRecord) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(rec)
	return os.WriteFile(path, data, 0o644)
}

// PartlyUpError says env:up was interrupted after it began starting
// containers: some may be running.
type PartlyUpError struct{ Err error }

func (e *PartlyUpError) Error() string {
	return "interrupted while the stack was starting: some services may be running"
}

func (e *PartlyUpError) Unwrap() error { return e.Err }

// Next shows what runs.
func (e *PartlyUpError) Next() string { return "go tool mage env:status" }

// PortBusyError says a port the stack publishes is held by someone else.
type PortBusyError struct {
	Port    int
	Service string
	Holder  string
}

func (e *PortBusyError) Error() string {
	holder := "another program"
	if e.Holder != "" {
		holder = e.Holder
	}
	return fmt.Sprintf("port %d, which %s publishes, is held by %s: stop it, or change the port in the settings file", e.Port, e.Service, holder)
}

// Next shows who listens on the port.
func (e *PortBusyError) Next() string { return fmt.Sprintf("ss -ltnp 'sport = :%d'", e.Port) }

// checkPorts fails before anything starts when a port the stack publishes
// is held by something other than this stack.
func checkPorts(ctx context.Context, eng *engine.Engine, s settings.Settings, services []string) error {
	if !eng.Local() {
		return nil // published on the engine's machine: Compose says if one is taken there
	}
	published, err := s.Published(services)
	if err != nil {
		return err
	}
	ours := map[int]bool{}
	if running, err := observe(ctx, eng, s.Project); err == nil {
		for _, s := range running {
			for _, p := range s.Ports {
				ours[p.Host] = true
			}
		}
	}
	for _, p := range published {
		if ours[p.Port] || PortFree(p.Port) {
			continue
		}
		return &PortBusyError{Port: p.Port, Service: p.Service, Holder: HolderOf(ctx, eng, p.Port)}
	}
	return nil
}

// HolderOf names what holds a host port: another container first (its
// docker-proxy would otherwise be named), then a host process.
func HolderOf(ctx context.Context, eng *engine.Engine, port int) string {
	if list, err := eng.ContainerList(ctx, client.ContainerListOptions{}); err == nil {
		for _, c := range list.Items {
			for _, p := range c.Ports {
				if int(p.PublicPort) == port {
					name := strings.TrimPrefix(firstOr(c.Names, c.ID[:12]), "/")
					if proj := c.Labels[composecli.LabelProject]; proj != "" {
						return fmt.Sprintf("container %s (compose project %s)", name, proj)
					}
					return "container " + name
				}
			}
		}
	}
	if h := PortHolder(port); h != "" {
		return h
	}
	return ""
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// NotReadyError says which service did not become ready, why, and what it logged.
type NotReadyError struct {
	Service string
	Why     string
	Logs    string
}

func (e *NotReadyError) Error() string { return fmt.Sprintf("%s is not ready: %s", e.Service, e.Why) }

// Explain shows the service's last log lines.
func (e *NotReadyError) Explain() string {
	if strings.TrimSpace(e.Logs) == "" {
		return ""
	}
	return "last lines of " + e.Service + "'s log:\n" + e.Logs
}

// Next shows the service's logs.
func (e *NotReadyError) Next() string { return "go tool mage env:logs -service=" + e.Service }

// pollEvery is how often readiness is polled while a stack starts.
const pollEvery = 200 * time.Millisecond

// waitReady polls the engine and the probes until every expected service is
// ready, one fails, or the deadline (timeout after the start) passes.
func waitReady(ctx context.Context, eng *engine.Engine, s settings.Settings, expected []string, deadline time.Time, timeout time.Duration) ([]Service, error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		services, err := Observe(ctx, eng, s)
		if err != nil {
			return nil, err
		}
		verdicts := Judge(expected, services, ProbeAll(ctx, services))
		var pending []Readiness
		for _, r := range verdicts {
			if r.Failed {
				return nil, notReady(ctx, eng, services, r)
			}
			if !r.Ready {
				pending = append(pending, r)
			}
		}
		if len(pending) == 0 {
			return services, nil
		}
		if time.Now().After(deadline) {
			r := pending[0]
			r.Why = fmt.Sprintf("%s (waited %s)", r.Why, timeout)
			return nil, notReady(ctx, eng, services, r)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func notReady(ctx context.Context, eng *engine.Engine, services []Service, r Readiness) error {
	e := &NotReadyError{Service: r.Service, Why: r.Why}
	for _, s := range services {
		if s.Name == r.Service {
			e.Logs, _ = tailLogs(ctx, eng, s.ID, 15)
		}
	}
	return e
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
