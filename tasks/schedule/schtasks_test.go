package schedule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func windowsJob(t *testing.T) Job {
	return Job{
		Name:    "backup",
		Project: "shop",
		Dir:     `C:\Users\ann\shop`,
		Command: []string{`C:\Program Files\Go\bin\go.exe`, "tool", "mage", "db:backup"},
		Every:   mustInterval(t, "daily@03:30"),
		Log:     `C:\Users\ann\shop\.stevedore\backup.log`,
		Env:     map[string]string{"STEVEDORE_SCHEDULED": "1"},
	}
}

func TestSchtasksArgs(t *testing.T) {
	const run = `cmd.exe /d /c "C:\Users\ann\shop\.stevedore\backup.cmd"`
	for _, c := range []struct {
		every string
		when  []string
	}{
		{"1m", []string{"/SC", "MINUTE", "/MO", "1"}},
		{"15m", []string{"/SC", "MINUTE", "/MO", "15"}},
		{"hourly", []string{"/SC", "HOURLY", "/MO", "1"}},
		{"6h", []string{"/SC", "HOURLY", "/MO", "6"}},
		{"daily@03:30", []string{"/SC", "DAILY", "/ST", "03:30"}},
		{"weekly@23:05", []string{"/SC", "WEEKLY", "/D", "SUN", "/ST", "23:05"}},
	} {
		t.Run(c.every, func(t *testing.T) {
			j := windowsJob(t)
			j.Every = mustInterval(t, c.every)
			args, err := SchtasksArgs(j)
			require.NoError(t, err)
			want := append(append([]string{"/Create", "/F", "/TN", `stevedore\shop\backup`}, c.when...), "/TR", run)
			assert.Equal(t, want, args)
		})
	}
}

func TestSchtasksScriptQuotesForCmdAndTheProgram(t *testing.T) {
	j := windowsJob(t)
	j.Env = map[string]string{"B": "x & y", "A": "a^b", "PATH": `C:\Go\bin;C:\100%`}
	j.Command = []string{`C:\go.exe`, `C:\dir\`, `C:\a\\b`, "", "a b & c | d > e", "100%"}
	script, err := SchtasksScript(j)
	require.NoError(t, err)
	assert.Equal(t, "@echo off\r\n"+
		`cd /d "C:\Users\ann\shop" || exit /b 1`+"\r\n"+
		`set "A=a^b"`+"\r\n"+
		`set "B=x & y"`+"\r\n"+
		`set "PATH=C:\Go\bin;C:\100%%"`+"\r\n"+
		`"C:\go.exe" "C:\dir\\" "C:\a\\b" "" "a b & c | d > e" "100%%" >> "C:\Users\ann\shop\.stevedore\backup.log" 2>&1`+"\r\n", script)
	assert.Equal(t, `C:\Users\ann\shop\.stevedore\backup.cmd`, SchtasksScriptPath(j))
}

func TestSchtasksRefuses(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Job)
		want   string
	}{
		{"quote in an argument", func(j *Job) { j.Command = append(j.Command, `say "hi"`) }, `holds ", which cmd.exe cannot pass on literally`},
		{"quote in the folder", func(j *Job) { j.Dir = `C:\"shop"` }, `holds ", which cmd.exe`},
		{"quote in an env value", func(j *Job) { j.Env["X"] = `a"b` }, `holds ", which cmd.exe`},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := windowsJob(t)
			c.change(&j)
			_, err := SchtasksScript(j)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "schedule shop:backup: "), err.Error())
		})
	}
	j := windowsJob(t)
	j.Log = `C:\` + strings.Repeat("x", 260) + `\backup.log`
	_, err := SchtasksArgs(j)
	assert.ErrorContains(t, err, "Task Scheduler takes at most 261")
	j.Log = `C:\100%\backup.log`
	_, err = SchtasksArgs(j)
	assert.ErrorContains(t, err, "holds % or")
}

func TestSchtasksSchedulerInstallsListsAndRemoves(t *testing.T) {
	calls := filepath.Join(t.TempDir(), "calls")
	fakeProgram(t, "schtasks", `printf '%s|' "$@" >> `+shellQuote(calls)+`
echo >> `+shellQuote(calls)+`
[ "$1" = /Query ] && cat <<'EOF'
"\Microsoft\Windows\Defrag\ScheduledDefrag","N/A","Ready"
"\stevedore\shop\backup","29/11/2026 03:30:00","Ready"
"\stevedore\shop\verify","29/11/2026 04:00:00","Ready"
"\stevedore\shop2\backup","29/11/2026 03:30:00","Ready"
"\stevedore\odd","N/A","Ready"
EOF
exit 0
`)
	s := schtasksScheduler{}
	ctx := t.Context()
	// Linux paths, as Install validates them for the OS it runs on.
	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "backup.log")
	require.NoError(t, s.Install(ctx, j))
	args, err := SchtasksArgs(j)
	require.NoError(t, err)
	assertFile(t, calls, strings.Join(args, "|")+"|\n")
	script, err := SchtasksScript(j)
	require.NoError(t, err)
	assertFile(t, SchtasksScriptPath(j), script)

	found, err := s.List(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, []Installed{
		{Kind: "schtasks", Project: "shop", Name: "backup", Schedule: "next run 29/11/2026 03:30:00", Where: `Task Scheduler \stevedore\shop\backup`},
		{Kind: "schtasks", Project: "shop", Name: "verify", Schedule: "next run 29/11/2026 04:00:00", Where: `Task Scheduler \stevedore\shop\verify`},
	}, found)

	require.NoError(t, os.WriteFile(calls, nil, 0o644))
	removed, err := s.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.True(t, removed)
	removed, err = s.Remove(ctx, "shop", "push")
	require.NoError(t, err)
	assert.False(t, removed)
	assertFile(t, calls, "/Query|/FO|CSV|/NH|\n/Delete|/F|/TN|stevedore\\shop\\backup|\n/Query|/FO|CSV|/NH|\n")
}
