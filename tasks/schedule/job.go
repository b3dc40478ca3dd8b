// Package schedule installs, lists and removes the schedule that runs a
// stevedore target (db:backup, optionally followed by db:verify and db:push)
// with the platform's own scheduler: a crontab line or a systemd user timer
// on Linux, launchd on macOS, Task Scheduler on Windows. For databases in
// Kubernetes it writes a CronJob manifest that does the same in the cluster;
// applying it is left to the user.
//
// Building each scheduler's command line or file is pure (CronLine,
// SystemdUnits, LaunchdPlist, SchtasksArgs, CronJobManifest, AddCron…), apart
// from the Scheduler implementations that run crontab, systemctl, launchctl
// and schtasks.
package schedule

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Job is one scheduled run.
//
// To run several targets in a row, list them in one mage call:
// ["/usr/local/go/bin/go", "tool", "mage", "db:backup", "db:verify", "db:push"]
// runs them in order and stops at the first that fails, with no shell in
// between.
type Job struct {
	Name    string            // "backup": [a-z0-9-], part of every unit, label and marker name
	Project string            // compose project, e.g. "shop", so two projects' schedules never clash
	Dir     string            // absolute checkout folder the command runs in
	Command []string          // absolute argv, e.g. ["/usr/local/go/bin/go", "tool", "mage", "db:backup"]
	Every   Interval          // how often it runs
	Log     string            // absolute file the scheduler appends stdout and stderr to
	Env     map[string]string // non-secret environment only (PATH, HOME, STEVEDORE_SCHEDULED=1)
}

var (
	jobName     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`) // as compose accepts
	envName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Scheduler files are readable by anyone who can read the user's home or
	// crontab; the commands read their secrets from .env files at run time.
	secretName = regexp.MustCompile(`(?i)PASS|SECRET|TOKEN|KEY|CREDENTIAL`)
)

// Bounds that keep every derived name (unit files, labels, task names)
// well inside the limits of the schedulers.
const (
	maxJobName     = 40
	maxProjectName = 63
)

// Validate reports the first thing about j that would make a scheduler run
// something other than what j says, or leak a secret into a scheduler file.
// The builders (CronLine, SystemdUnits…) assume a valid Job.
func (j Job) Validate() error {
	if err := validIDs(j.Project, j.Name); err != nil {
		return err
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("schedule %s:%s: "+format, append([]any{j.Project, j.Name}, a...)...)
	}
	if j.Every.unit == 0 {
		return fail("no interval: set Every with ParseInterval")
	}
	if len(j.Command) == 0 {
		return fail("no command")
	}
	for _, p := range []struct{ what, path string }{{"folder", j.Dir}, {"log", j.Log}, {"command", j.Command[0]}} {
		if !filepath.IsAbs(p.path) {
			return fail("the %s %q is not an absolute path: a scheduler runs with another working folder and PATH", p.what, p.path)
		}
	}
	texts := append([]string{j.Dir, j.Log}, j.Command...)
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		if !envName.MatchString(k) {
			return fail("environment variable name %q: use letters, digits and _", k)
		}
		if secretName.MatchString(k) {
			return fail("environment variable %s looks like a secret: scheduler files are not secret, the command reads secrets from the project's .env files", k)
		}
		texts = append(texts, j.Env[k])
	}
	for _, s := range texts {
		if err := plainText(s); err != nil {
			return fail("%w", err)
		}
	}
	return nil
}

// validIDs checks a project and job name, which every scheduler puts in its
// own names and markers.
func validIDs(project, name string) error {
	if !projectName.MatchString(project) || len(project) > maxProjectName {
		return fmt.Errorf("schedule project %q: use lowercase letters, digits, - and _, at most %d", project, maxProjectName)
	}
	if !jobName.MatchString(name) || len(name) > maxJobName {
		return fmt.Errorf("schedule name %q: use lowercase letters, digits and inner dashes, at most %d", name, maxJobName)
	}
	return nil
}

// plainText rejects what a line-based file (crontab, unit file) or XML
// cannot hold as written: a newline would start a new crontab entry.
func plainText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%q holds control character %U", s, r)
		}
	}
	return nil
}

// prepare is what every Install does first: refuse an invalid Job, and make
// the log's folder, since schedulers only create the file.
func prepare(j Job) error {
	if err := j.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(j.Log), 0o755); err != nil {
		return fmt.Errorf("schedule %s:%s: log folder: %w", j.Project, j.Name, err)
	}
	return nil
}

// jobID is the "<project>:<name>" that marks our entries where a name alone
// could be ambiguous (a dash joins project and name in unit file names).
func jobID(project, name string) string { return project + ":" + name }

// parseJobID reads a jobID back; ok is false for anything we did not write.
func parseJobID(id string) (project, name string, ok bool) {
	project, name, found := strings.Cut(id, ":")
	return project, name, found && validIDs(project, name) == nil
}
