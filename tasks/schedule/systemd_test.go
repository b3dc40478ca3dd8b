package schedule

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nastyUnitJob holds what unit files must escape: quotes, backslashes,
// %-specifiers, $-expansion and a lone semicolon.
func nastyUnitJob(t *testing.T) Job {
	j := sampleJob(t)
	j.Dir = `/srv/o'neil 100%`
	j.Env = map[string]string{"NOTE": `say "hi" \ 100% $HOME`}
	j.Command = []string{"/bin/sh", "-c", "echo $HOME; echo 100%", ";", "", "plain"}
	j.Every = mustInterval(t, "15m")
	return j
}

func TestSystemdUnits(t *testing.T) {
	for _, c := range []struct {
		name           string
		job            func(*testing.T) Job
		service, timer string
	}{
		{"sample", sampleJob, `# Written by stevedore; installing the schedule again rewrites it.
[Unit]
Description=stevedore backup for shop

[Service]
Type=oneshot
WorkingDirectory=/srv/shop
Environment=HOME=/home/ann
Environment=PATH=/usr/local/go/bin:/usr/bin:/bin
Environment=STEVEDORE_SCHEDULED=1
ExecStart=/usr/local/go/bin/go tool mage db:backup db:verify
StandardOutput=append:/srv/shop/.stevedore/schedule-backup.log
StandardError=inherit
`, `# Written by stevedore; installing the schedule again rewrites it.
[Unit]
Description=stevedore backup for shop (daily@03:30)
X-Stevedore-Job=shop:backup

[Timer]
OnCalendar=*-*-* 03:30:00
Persistent=true
Unit=stevedore-shop-backup.service

[Install]
WantedBy=timers.target
`},
		{"escapes", nastyUnitJob, `# Written by stevedore; installing the schedule again rewrites it.
[Unit]
Description=stevedore backup for shop

[Service]
Type=oneshot
WorkingDirectory=/srv/o'neil 100%%
Environment="NOTE=say \"hi\" \\ 100%% $HOME"
ExecStart=/bin/sh -c "echo $$HOME; echo 100%%" ";" "" plain
StandardOutput=append:/srv/shop/.stevedore/schedule-backup.log
StandardError=inherit
`, `# Written by stevedore; installing the schedule again rewrites it.
[Unit]
Description=stevedore backup for shop (15m)
X-Stevedore-Job=shop:backup

[Timer]
OnCalendar=*-*-* *:00/15:00
Persistent=true
Unit=stevedore-shop-backup.service

[Install]
WantedBy=timers.target
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := c.job(t)
			require.NoError(t, j.Validate())
			service, timer := SystemdUnits(j)
			assert.Equal(t, c.service, service)
			assert.Equal(t, c.timer, timer)
		})
	}
}

// systemd's own parser accepts the units (it checks the calendar
// expression, the output setting, the quoting of ExecStart=…), and rejects
// a broken one, so this check can fail. It runs in system mode, which needs
// no running manager and parses unit files the same way.
func TestSystemdUnitsPassSystemdAnalyzeVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not found: this check needs systemd installed, not running")
	}
	verify := func(service, timer string) (string, error) {
		dir := t.TempDir()
		name := filepath.Join(dir, unitName("shop", "backup"))
		require.NoError(t, os.WriteFile(name+".service", []byte(service), 0o644))
		require.NoError(t, os.WriteFile(name+".timer", []byte(timer), 0o644))
		out, err := exec.CommandContext(t.Context(), "systemd-analyze", "verify", "--man=no", name+".service", name+".timer").CombinedOutput()
		return string(out), err
	}
	for _, job := range []func(*testing.T) Job{sampleJob, nastyUnitJob} {
		j := job(t)
		j.Command[0] = "/bin/sh" // verify wants an executable that exists
		out, err := verify(SystemdUnits(j))
		assert.NoError(t, err, out)
		assert.Empty(t, out)
	}
	service, timer := SystemdUnits(sampleJob(t))
	out, err := verify(service, strings.Replace(timer, "OnCalendar=*-*-* 03:30:00", "OnCalendar=every other tuesday", 1))
	assert.Error(t, err)
	assert.Contains(t, out, "Failed to parse calendar specification")
}

// fakeSystemctl records each call's arguments, one line each, in the file it
// returns; the calls fail when fail is set.
func fakeSystemctl(t *testing.T, fail bool) string {
	calls := filepath.Join(t.TempDir(), "calls")
	script := `echo "$*" >> ` + shellQuote(calls) + "\n"
	if fail {
		script += "echo 'Failed to connect to bus: No medium found' >&2\nexit 1\n"
	}
	fakeProgram(t, "systemctl", script)
	return calls
}

func TestSystemdSchedulerInstallsListsAndRemoves(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	calls := fakeSystemctl(t, false)
	s, err := newScheduler("systemd")
	require.NoError(t, err)
	ctx := t.Context()
	units := filepath.Join(home, ".config", "systemd", "user")

	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "logs", "backup.log")
	require.NoError(t, s.Install(ctx, j))
	service, timer := SystemdUnits(j)
	assertFile(t, filepath.Join(units, "stevedore-shop-backup.service"), service)
	assertFile(t, filepath.Join(units, "stevedore-shop-backup.timer"), timer)
	assertFile(t, calls, "--user daemon-reload\n--user enable stevedore-shop-backup.timer\n--user restart stevedore-shop-backup.timer\n")
	assert.DirExists(t, filepath.Dir(j.Log))

	// "shop" + "backup-x" and "shop-backup" + "x" share a unit name.
	first, clash := j, j
	first.Name = "backup-x"
	clash.Project, clash.Name = "shop-backup", "x"
	require.NoError(t, s.Install(ctx, first))
	err = s.Install(ctx, clash)
	require.EqualError(t, err, "schedule shop-backup:x: ~/.config/systemd/user/stevedore-shop-backup-x.timer already belongs to shop:backup-x: rename this job")
	removed, err := s.Remove(ctx, clash.Project, clash.Name)
	require.NoError(t, err)
	assert.False(t, removed, "the unit is another job's")

	found, err := s.List(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, []Installed{
		{Kind: "systemd", Project: "shop", Name: "backup", Schedule: "*-*-* 03:30:00", Where: "~/.config/systemd/user/stevedore-shop-backup.timer"},
		{Kind: "systemd", Project: "shop", Name: "backup-x", Schedule: "*-*-* 03:30:00", Where: "~/.config/systemd/user/stevedore-shop-backup-x.timer"},
	}, found)
	found, err = s.List(ctx, "shop-backup")
	require.NoError(t, err)
	assert.Empty(t, found, "a glob on the file name would list shop:backup-x here")

	require.NoError(t, os.WriteFile(calls, nil, 0o644))
	removed, err = s.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.True(t, removed)
	assert.NoFileExists(t, filepath.Join(units, "stevedore-shop-backup.service"))
	assert.NoFileExists(t, filepath.Join(units, "stevedore-shop-backup.timer"))
	assertFile(t, calls, "--user disable --now stevedore-shop-backup.timer\n--user daemon-reload\n")
	removed, err = s.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.False(t, removed)
}

func TestSystemdSchedulerUsesXDGConfigHome(t *testing.T) {
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	fakeSystemctl(t, false)
	s, err := newScheduler("systemd")
	require.NoError(t, err)
	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "backup.log")
	require.NoError(t, s.Install(t.Context(), j))
	assert.FileExists(t, filepath.Join(config, "systemd", "user", "stevedore-shop-backup.timer"))
}

func TestSystemdSchedulerSaysWhySystemctlFailed(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	fakeSystemctl(t, true)
	s, err := newScheduler("systemd")
	require.NoError(t, err)
	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "backup.log")
	err = s.Install(t.Context(), j)
	require.EqualError(t, err, "schedule shop:backup: systemctl --user daemon-reload: exit status 1: Failed to connect to bus: No medium found")
}
