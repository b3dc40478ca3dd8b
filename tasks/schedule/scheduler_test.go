package schedule

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChoose(t *testing.T) {
	all := map[string]bool{"cron": true, "systemd": true, "launchd": true, "schtasks": true}
	for _, c := range []struct {
		name, goos, prefer string
		usable             map[string]bool
		want, err          string
	}{
		{"linux prefers systemd", "linux", "", all, "systemd", ""},
		{"linux falls back to cron", "linux", "", map[string]bool{"cron": true}, "cron", ""},
		{"linux without either", "linux", "", map[string]bool{"launchd": true}, "",
			"no scheduler found on linux: no systemd user manager answers `systemctl --user`: log in through a systemd session, or use cron; or crontab not found: install cron (Debian/Ubuntu: apt-get install cron; Fedora: dnf install cronie)"},
		{"macOS prefers launchd", "darwin", "", all, "launchd", ""},
		{"macOS falls back to cron", "darwin", "", map[string]bool{"cron": true}, "cron", ""},
		{"windows", "windows", "", all, "schtasks", ""},
		{"windows without schtasks", "windows", "", map[string]bool{"cron": true}, "", "no scheduler found on windows: schtasks not found: Task Scheduler is Windows only"},
		{"another unix", "freebsd", "", all, "cron", ""},
		{"a usable preference", "linux", "cron", all, "cron", ""},
		{"an unusable preference", "linux", "systemd", map[string]bool{"cron": true}, "",
			"scheduler systemd: no systemd user manager answers `systemctl --user`: log in through a systemd session, or use cron"},
		{"launchd off macOS", "linux", "launchd", map[string]bool{"cron": true}, "", "scheduler launchd: launchctl not found: launchd is macOS only"},
		{"an unknown preference", "linux", "at", all, "", `unknown scheduler "at": choose cron, systemd, launchd or schtasks`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := choose(c.goos, c.prefer, c.usable)
			if c.err != "" {
				assert.EqualError(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

// Detect probes the programs on PATH, and asks systemctl whether a user
// manager answers.
func TestDetectProbesThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the probes and choices checked here are Linux's")
	}
	for _, c := range []struct {
		name      string
		systemctl string // the fake's script; "" for none
		crontab   bool
		prefer    string
		want, err string
	}{
		{"nothing", "", false, "", "", "no scheduler found on linux: "},
		{"crontab", "", true, "", "cron", ""},
		{"user manager offline", "echo offline; exit 1", true, "", "cron", ""},
		{"no bus", "echo 'Failed to connect to bus: No medium found' >&2; exit 1", true, "", "cron", ""},
		{"user manager degraded", "echo degraded; exit 1", true, "", "systemd", ""},
		{"user manager running", "echo running", false, "", "systemd", ""},
		{"systemd preferred but offline", "echo offline; exit 1", true, "systemd", "", "scheduler systemd: "},
		{"cron preferred over a running manager", "echo running", true, "cron", "cron", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir()) // only the fakes below
			if c.systemctl != "" {
				fakeProgram(t, "systemctl", c.systemctl+"\n")
			}
			if c.crontab {
				fakeProgram(t, "crontab", "exit 0\n")
			}
			s, err := Detect(t.Context(), c.prefer)
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, s.Kind())
		})
	}
}

func TestCommandErrorIsOneLineWithTheLastThingSaid(t *testing.T) {
	_, err := run(t.Context(), "", "/bin/sh", "-c", "echo first >&2; echo; echo '  the reason  ' >&2; echo >&2; exit 3")
	require.EqualError(t, err, "/bin/sh -c echo first >&2; echo; echo '  the reason  ' >&2; echo >&2; exit 3: exit status 3: the reason")
	var failed *commandError
	require.True(t, errors.As(err, &failed))
	assert.Equal(t, "first\n  the reason  \n\n", failed.stderr)

	_, err = run(t.Context(), "", "/nonexistent/program")
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestRunFeedsStdin(t *testing.T) {
	out, err := run(t.Context(), "a 'line'\n", "/bin/cat")
	require.NoError(t, err)
	assert.Equal(t, "a 'line'\n", out)
}

func TestTilde(t *testing.T) {
	assert.Equal(t, "~/.config/x", tilde("/home/ann", "/home/ann/.config/x"))
	assert.Equal(t, "/home/annex/x", tilde("/home/ann", "/home/annex/x"))
	assert.Equal(t, "/srv/x", tilde("", "/srv/x"))
}
