package schedule

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Installed is one schedule a Scheduler found.
type Installed struct {
	Kind     string // "cron", "systemd", "launchd", "schtasks"
	Project  string
	Name     string
	Schedule string // in the scheduler's own terms: "*/15 * * * *", "*-*-* 03:30:00"…
	Where    string // "crontab of root", "~/.config/systemd/user/stevedore-shop-backup.timer"…
}

// Scheduler installs, lists and removes Jobs in one platform scheduler.
// Installing a Job again replaces it; other entries are never touched.
type Scheduler interface {
	Kind() string
	Install(ctx context.Context, j Job) error
	List(ctx context.Context, project string) ([]Installed, error) // project "" lists every project
	Remove(ctx context.Context, project, name string) (bool, error)
}

// The kinds Detect knows, and what to do when one is missing.
var missing = map[string]string{
	"cron":     "crontab not found: install cron (Debian/Ubuntu: apt-get install cron; Fedora: dnf install cronie)",
	"systemd":  "no systemd user manager answers `systemctl --user`: log in through a systemd session, or use cron",
	"launchd":  "launchctl not found: launchd is macOS only",
	"schtasks": "schtasks not found: Task Scheduler is Windows only",
}

// preferred lists, best first, the schedulers Detect tries on each OS:
// systemd timers catch up on runs missed while the machine was off
// (Persistent=true), cron does not.
func preferred(goos string) []string {
	switch goos {
	case "linux":
		return []string{"systemd", "cron"}
	case "darwin":
		return []string{"launchd", "cron"}
	case "windows":
		return []string{"schtasks"}
	}
	return []string{"cron"}
}

// Detect returns the scheduler to use: prefer if it is usable here ("cron",
// "systemd", "launchd", "schtasks"), else with prefer "" the best one this
// machine has.
func Detect(ctx context.Context, prefer string) (Scheduler, error) {
	kind, err := choose(runtime.GOOS, prefer, usable(ctx))
	if err != nil {
		return nil, err
	}
	return newScheduler(kind)
}

// choose is Detect's decision, given which kinds are usable.
func choose(goos, prefer string, usable map[string]bool) (string, error) {
	if prefer != "" {
		if _, known := missing[prefer]; !known {
			return "", fmt.Errorf("unknown scheduler %q: choose cron, systemd, launchd or schtasks", prefer)
		}
		if !usable[prefer] {
			return "", fmt.Errorf("scheduler %s: %s", prefer, missing[prefer])
		}
		return prefer, nil
	}
	kinds := preferred(goos)
	for _, k := range kinds {
		if usable[k] {
			return k, nil
		}
	}
	hints := make([]string, len(kinds))
	for i, k := range kinds {
		hints[i] = missing[k]
	}
	return "", fmt.Errorf("no scheduler found on %s: %s", goos, strings.Join(hints, "; or "))
}

// usable probes this machine for each kind.
func usable(ctx context.Context) map[string]bool {
	found := func(program string) bool {
		_, err := exec.LookPath(program)
		return err == nil
	}
	return map[string]bool{
		"cron":     found("crontab"),
		"systemd":  found("systemctl") && systemdUserAnswers(ctx),
		"launchd":  found("launchctl"),
		"schtasks": found("schtasks"),
	}
}

// systemdUserAnswers tells whether a user manager runs: is-system-running
// exits non-zero when merely "degraded", so its answer counts, not its
// status; without a manager it says "offline" or nothing (failed to connect).
func systemdUserAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	state, _ := run(ctx, "", "systemctl", "--user", "is-system-running")
	state = strings.TrimSpace(state)
	return state != "" && state != "offline" && state != "unknown"
}

func newScheduler(kind string) (Scheduler, error) {
	switch kind {
	case "cron":
		who := "the current user"
		if u, err := user.Current(); err == nil {
			who = u.Username
		}
		return cronScheduler{user: who}, nil
	case "schtasks":
		return schtasksScheduler{}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("scheduler %s: %w", kind, err)
	}
	if kind == "launchd" {
		return launchdScheduler{dir: filepath.Join(home, "Library", "LaunchAgents"), home: home}, nil
	}
	config := os.Getenv("XDG_CONFIG_HOME") // the XDG default below otherwise
	if config == "" {
		config = filepath.Join(home, ".config")
	}
	return systemdScheduler{dir: filepath.Join(config, "systemd", "user"), home: home}, nil
}

// commandError is a program's failure with what it said on stderr, which
// callers look into ("no crontab for …").
type commandError struct {
	argv   []string
	stderr string
	err    error
}

func (e *commandError) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.argv, " "), e.err)
	// The last line says why; earlier ones would break the one-line error.
	if said := strings.TrimSpace(e.stderr); said != "" {
		msg += ": " + strings.TrimSpace(said[strings.LastIndex(said, "\n")+1:])
	}
	return msg
}

func (e *commandError) Unwrap() error { return e.err }

// run runs argv with stdin and returns its stdout; a failure is a
// *commandError.
func run(ctx context.Context, stdin string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return stdout.String(), &commandError{argv: argv, stderr: stderr.String(), err: err}
	}
	return stdout.String(), nil
}

// tilde shortens a path under home for people to read.
func tilde(home, path string) string {
	if rest, ok := strings.CutPrefix(path, home+string(filepath.Separator)); ok && home != "" {
		return filepath.Join("~", rest)
	}
	return path
}

// sortInstalled orders what List returns, whatever order files or lines
// were found in.
func sortInstalled(found []Installed) []Installed {
	slices.SortFunc(found, func(a, b Installed) int {
		return strings.Compare(jobID(a.Project, a.Name), jobID(b.Project, b.Name))
	})
	return found
}
