package schedule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// unitName is the base name of j's units (and Task Scheduler task):
// "stevedore-shop-backup". A dash joins project and name, so two jobs can
// share it ("a-b"+"c", "a"+"b-c"); the X-Stevedore-Job line in the timer
// says which one owns it.
func unitName(project, name string) string { return "stevedore-" + project + "-" + name }

// ownerKey marks our timers; systemd ignores keys that start with X-.
const ownerKey = "X-Stevedore-Job"

// SystemdUnits returns j's user units: a oneshot service that runs the
// command, and the timer that starts it. Persistent=true runs a start missed
// while the machine was off as soon as it is back.
func SystemdUnits(j Job) (service, timer string) {
	name := unitName(j.Project, j.Name)
	var s strings.Builder
	fmt.Fprintf(&s, "# Written by stevedore; installing the schedule again rewrites it.\n")
	fmt.Fprintf(&s, "[Unit]\nDescription=stevedore %s for %s\n\n", j.Name, j.Project)
	fmt.Fprintf(&s, "[Service]\nType=oneshot\n")
	fmt.Fprintf(&s, "WorkingDirectory=%s\n", specifiers(j.Dir))
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		fmt.Fprintf(&s, "Environment=%s\n", specifiers(unitQuote(k+"="+j.Env[k])))
	}
	args := make([]string, len(j.Command))
	for i, a := range j.Command {
		// ExecStart= expands $VAR and ${VAR}; $$ is a $.
		args[i] = specifiers(unitQuote(strings.ReplaceAll(a, "$", "$$")))
	}
	fmt.Fprintf(&s, "ExecStart=%s\n", strings.Join(args, " "))
	fmt.Fprintf(&s, "StandardOutput=append:%s\nStandardError=inherit\n", specifiers(j.Log))

	var t strings.Builder
	fmt.Fprintf(&t, "# Written by stevedore; installing the schedule again rewrites it.\n")
	fmt.Fprintf(&t, "[Unit]\nDescription=stevedore %s for %s (%s)\n%s=%s\n\n", j.Name, j.Project, j.Every, ownerKey, jobID(j.Project, j.Name))
	fmt.Fprintf(&t, "[Timer]\nOnCalendar=%s\nPersistent=true\nUnit=%s.service\n\n", j.Every.onCalendar(), name)
	fmt.Fprintf(&t, "[Install]\nWantedBy=timers.target\n")
	return s.String(), t.String()
}

// unitQuote makes s one word of a unit file's command line or assignment
// list: double-quoted with C escapes when it holds a blank, quote, backslash
// or semicolon (a lone ; separates commands in ExecStart=), as is otherwise.
func unitQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// specifiers escapes % in a unit file value: systemd expands %-specifiers
// (%h, %n…) almost everywhere.
func specifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// unitValues reads a unit file's Key=Value lines; sections do not matter
// for the keys we look up.
func unitValues(text string) map[string]string {
	values := map[string]string{}
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			values[k] = v
		}
	}
	return values
}

// systemdScheduler writes user units and drives them with systemctl --user.
type systemdScheduler struct{ dir, home string }

func (systemdScheduler) Kind() string { return "systemd" }

func (s systemdScheduler) Install(ctx context.Context, j Job) error {
	if err := prepare(j); err != nil {
		return err
	}
	name := unitName(j.Project, j.Name)
	timerPath := filepath.Join(s.dir, name+".timer")
	owner, err := s.owner(timerPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
	}
	if err == nil && owner != jobID(j.Project, j.Name) {
		if owner == "" {
			owner = "something other than stevedore"
		}
		return fmt.Errorf("schedule %s:%s: %s already belongs to %s: rename this job", j.Project, j.Name, tilde(s.home, timerPath), owner)
	}
	service, timer := SystemdUnits(j)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
	}
	for path, text := range map[string]string{filepath.Join(s.dir, name+".service"): service, timerPath: timer} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
		}
	}
	// restart rather than enable --now alone: a timer that already runs
	// keeps its old schedule until restarted.
	for _, step := range [][]string{{"daemon-reload"}, {"enable", name + ".timer"}, {"restart", name + ".timer"}} {
		if err := systemctl(ctx, step...); err != nil {
			return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
		}
	}
	return nil
}

func (s systemdScheduler) Remove(ctx context.Context, project, name string) (bool, error) {
	base := filepath.Join(s.dir, unitName(project, name))
	owner, err := s.owner(base + ".timer")
	if errors.Is(err, fs.ErrNotExist) || (err == nil && owner != jobID(project, name)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
	}
	if err := systemctl(ctx, "disable", "--now", unitName(project, name)+".timer"); err != nil {
		return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
	}
	for _, path := range []string{base + ".timer", base + ".service"} {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
		}
	}
	if err := systemctl(ctx, "daemon-reload"); err != nil {
		return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
	}
	return true, nil
}

func (s systemdScheduler) List(ctx context.Context, project string) ([]Installed, error) {
	timers, err := filepath.Glob(filepath.Join(s.dir, "stevedore-*.timer"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.dir, err)
	}
	var found []Installed
	for _, path := range timers {
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("listing schedules: %w", err)
		}
		values := unitValues(string(text))
		p, n, ok := parseJobID(values[ownerKey])
		if ok && (project == "" || p == project) {
			found = append(found, Installed{Kind: "systemd", Project: p, Name: n, Schedule: values["OnCalendar"], Where: tilde(s.home, path)})
		}
	}
	return sortInstalled(found), nil
}

// owner reads which job a timer file belongs to.
func (s systemdScheduler) owner(timerPath string) (string, error) {
	text, err := os.ReadFile(timerPath)
	if err != nil {
		return "", err
	}
	return unitValues(string(text))[ownerKey], nil
}

func systemctl(ctx context.Context, args ...string) error {
	_, err := run(ctx, "", append([]string{"systemctl", "--user"}, args...)...)
	return err
}
