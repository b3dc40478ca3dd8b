package schedule

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLaunchdPlistIsTheWholeAgent(t *testing.T) {
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>dev.stevedore.shop.backup</string>
	<key>ProgramArguments</key>
	<array>
		<string>/usr/local/go/bin/go</string>
		<string>tool</string>
		<string>mage</string>
		<string>db:backup</string>
		<string>db:verify</string>
	</array>
	<key>WorkingDirectory</key>
	<string>/srv/shop</string>
	<key>EnvironmentVariables</key>
	<dict>
		<key>HOME</key>
		<string>/home/ann</string>
		<key>PATH</key>
		<string>/usr/local/go/bin:/usr/bin:/bin</string>
		<key>STEVEDORE_SCHEDULED</key>
		<string>1</string>
	</dict>
	<key>StandardOutPath</key>
	<string>/srv/shop/.stevedore/schedule-backup.log</string>
	<key>StandardErrorPath</key>
	<string>/srv/shop/.stevedore/schedule-backup.log</string>
	<key>StartCalendarInterval</key>
	<dict>
		<key>Hour</key>
		<integer>3</integer>
		<key>Minute</key>
		<integer>30</integer>
	</dict>
	<key>RunAtLoad</key>
	<false/>
</dict>
</plist>
`, string(LaunchdPlist(sampleJob(t))))
}

// Each plist parses as strict XML (encoding/xml, through readPlist) back to
// the job, whatever its strings hold, with the schedule launchd should use.
func TestLaunchdPlistReadsBack(t *testing.T) {
	for _, c := range []struct {
		every    string
		schedule map[string]any
	}{
		{"1m", map[string]any{"StartInterval": 60}},
		{"15m", map[string]any{"StartInterval": 900}},
		{"6h", map[string]any{"StartInterval": 21600}},
		{"daily@03:30", map[string]any{"StartCalendarInterval": map[string]any{"Hour": 3, "Minute": 30}}},
		{"weekly@04:05", map[string]any{"StartCalendarInterval": map[string]any{"Weekday": 0, "Hour": 4, "Minute": 5}}},
	} {
		t.Run(c.every, func(t *testing.T) {
			j := sampleJob(t)
			j.Every = mustInterval(t, c.every)
			j.Dir = `/srv/<shop> & "co" 's`
			j.Command = []string{"/bin/echo", "]]>", "&amp;", "<!-- -->", "100% $HOME", ""}
			j.Env = map[string]string{"NOTE": `<&>"'`}
			require.NoError(t, j.Validate())
			agent, err := readPlist(LaunchdPlist(j))
			require.NoError(t, err)
			want := map[string]any{
				"Label":                "dev.stevedore.shop.backup",
				"ProgramArguments":     []any{"/bin/echo", "]]>", "&amp;", "<!-- -->", "100% $HOME", ""},
				"WorkingDirectory":     j.Dir,
				"EnvironmentVariables": map[string]any{"NOTE": `<&>"'`},
				"StandardOutPath":      j.Log,
				"StandardErrorPath":    j.Log,
				"RunAtLoad":            false,
			}
			for k, v := range c.schedule {
				want[k] = v
			}
			assert.Equal(t, want, agent)
		})
	}
}

func TestReadPlistRejects(t *testing.T) {
	for _, c := range []struct{ name, plist, want string }{
		{"broken XML", `<plist><dict><key>Label</key><string>x</dict></plist>`, "element <string> closed by </dict>"},
		{"a value where a key goes", `<plist><dict><string>x</string></dict></plist>`, "<string> where a dict needs a <key>"},
		{"a key without value", `<plist><dict><key>Label</key></dict></plist>`, `dict key "Label" has no value`},
		{"an array at the top", `<plist><array></array></plist>`, "its top value is not a dict"},
		{"an unknown element", `<plist><dict><key>When</key><date>2024-01-01T00:00:00Z</date></dict></plist>`, "unsupported plist element <date>"},
		{"a word for an integer", `<plist><dict><key>StartInterval</key><integer>ten</integer></dict></plist>`, `parsing "ten"`},
		{"no plist", `<dict></dict>`, "<dict> where <plist> should be"},
		{"an empty plist", `<plist></plist>`, "an element ends where a value should be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readPlist([]byte(c.plist))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestLaunchdSchedulerInstallsListsAndRemoves(t *testing.T) {
	calls := filepath.Join(t.TempDir(), "calls")
	fakeProgram(t, "launchctl", `echo "$*" >> `+shellQuote(calls)+"\n")
	home := t.TempDir()
	agents := filepath.Join(home, "Library", "LaunchAgents")
	l := launchdScheduler{dir: agents, home: home}
	ctx := t.Context()
	plist := filepath.Join(agents, "dev.stevedore.shop.backup.plist")

	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "logs", "backup.log")
	require.NoError(t, l.Install(ctx, j))
	assertFile(t, plist, string(LaunchdPlist(j)))
	assertFile(t, calls, "load -w "+plist+"\n")

	j.Every = mustInterval(t, "15m")
	require.NoError(t, l.Install(ctx, j))
	assertFile(t, calls, "load -w "+plist+"\nunload "+plist+"\nload -w "+plist+"\n")
	other := j
	other.Project = "shop2"
	require.NoError(t, l.Install(ctx, other))

	found, err := l.List(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, []Installed{{Kind: "launchd", Project: "shop", Name: "backup", Schedule: "StartInterval=900", Where: "~/Library/LaunchAgents/dev.stevedore.shop.backup.plist"}}, found)
	found, err = l.List(ctx, "")
	require.NoError(t, err)
	assert.Len(t, found, 2)

	require.NoError(t, os.WriteFile(calls, nil, 0o644))
	removed, err := l.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.True(t, removed)
	assert.NoFileExists(t, plist)
	assertFile(t, calls, "unload -w "+plist+"\n")
	removed, err = l.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.False(t, removed)
}

func TestLaunchdScheduleInLaunchdTerms(t *testing.T) {
	for _, c := range []struct{ every, want string }{
		{"15m", "StartInterval=900"},
		{"daily@03:30", "StartCalendarInterval Hour=3 Minute=30"},
		{"weekly", "StartCalendarInterval Hour=0 Minute=0 Weekday=0"},
	} {
		j := sampleJob(t)
		j.Every = mustInterval(t, c.every)
		agent, err := readPlist(LaunchdPlist(j))
		require.NoError(t, err)
		assert.Equal(t, c.want, launchdSchedule(agent))
	}
}
