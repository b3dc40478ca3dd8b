package schedule

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCronLine(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Job)
		want   string
	}{
		{"sample", func(*Job) {},
			`30 3 * * * cd '/srv/shop' && HOME='/home/ann' PATH='/usr/local/go/bin:/usr/bin:/bin' STEVEDORE_SCHEDULED='1' '/usr/local/go/bin/go' 'tool' 'mage' 'db:backup' 'db:verify' >> '/srv/shop/.stevedore/schedule-backup.log' 2>&1 # stevedore:shop:backup`},
		{"no environment, every 15 minutes", func(j *Job) { j.Env = nil; j.Every = mustInterval(t, "15m") },
			`*/15 * * * * cd '/srv/shop' && '/usr/local/go/bin/go' 'tool' 'mage' 'db:backup' 'db:verify' >> '/srv/shop/.stevedore/schedule-backup.log' 2>&1 # stevedore:shop:backup`},
		{"quote, percent, dollar, backslash", func(j *Job) {
			j.Env = map[string]string{"NOTE": `it's 100%`}
			j.Dir = `/srv/o'neil`
			j.Command = []string{"/bin/date", "+%s", `$HOME\%`}
		}, `30 3 * * * cd '/srv/o'\''neil' && NOTE='it'\''s 100'\%'' '/bin/date' '+'\%'s' '$HOME\'\%'' >> '/srv/shop/.stevedore/schedule-backup.log' 2>&1 # stevedore:shop:backup`},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := sampleJob(t)
			c.change(&j)
			require.NoError(t, j.Validate())
			assert.Equal(t, c.want, CronLine(j))
		})
	}
}

// cronCommand does to a crontab command what Vixie cron (Debian's, macOS's)
// does before handing it to /bin/sh, as in its do_command.c: a backslash
// escapes the next character, "\%" becomes "%", and a bare % ends the
// command, what follows being its stdin.
func cronCommand(command string) (shell, stdin string) {
	var out []byte
	escaped := false
	for i := 0; i < len(command); i++ {
		ch := command[i]
		switch {
		case escaped:
			if ch == '%' {
				out = out[:len(out)-1]
			}
			escaped = false
		case ch == '\\':
			escaped = true
		case ch == '%':
			return string(out), strings.ReplaceAll(command[i+1:], "%", "\n")
		}
		out = append(out, ch)
	}
	return string(out), ""
}

// What CronLine writes reaches the program intact through cron's %
// handling and /bin/sh: its folder, environment, every argument and the log.
func TestCronLineCarriesEveryByteThroughCronAndTheShell(t *testing.T) {
	nasty := []string{
		`it's`, `100%`, `\%`, `a\\%b`, `%%`, `%`, `\`, `'`, `''`, `"dq"`, `$HOME`, "`id`", `$(id)`,
		`;&|<>`, `*`, ` lead and trail `, `#not a comment`, `\'\%'`, `Grüße`, ``,
	}
	dir := filepath.Join(t.TempDir(), `it's 100% \% "a" $HOME checkout`)
	require.NoError(t, os.Mkdir(dir, 0o755))
	j := Job{
		Name:    "nasty",
		Project: "shop",
		Dir:     dir,
		Command: append([]string{"/bin/sh", "-c", `printf '%s\n' "$PWD" "$NOTE" "$@"`, "sh"}, nasty...),
		Every:   mustInterval(t, "1m"),
		Log:     filepath.Join(dir, ".stevedore", `log 100%'s.txt`),
		Env:     map[string]string{"NOTE": `it's 100% \%' $HOME`},
	}
	require.NoError(t, prepare(j))
	_, command, ok := cutFields(CronLine(j), 5)
	require.True(t, ok)
	shell, stdin := cronCommand(command)
	require.Empty(t, stdin, "a bare % would cut the command at it")

	out, err := exec.CommandContext(t.Context(), "/bin/sh", "-c", shell).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, string(out), "everything goes to the log")
	logged, err := os.ReadFile(j.Log)
	require.NoError(t, err)
	want := append([]string{dir, j.Env["NOTE"]}, nasty...)
	assert.Equal(t, strings.Join(want, "\n")+"\n", string(logged))
}

func TestCronLineReadsBack(t *testing.T) {
	j := sampleJob(t)
	entries := ListCron(CronLine(j))
	require.Len(t, entries, 1)
	assert.Equal(t, Entry{
		Project:  "shop",
		Name:     "backup",
		Schedule: "30 3 * * *",
		Command:  `cd '/srv/shop' && HOME='/home/ann' PATH='/usr/local/go/bin:/usr/bin:/bin' STEVEDORE_SCHEDULED='1' '/usr/local/go/bin/go' 'tool' 'mage' 'db:backup' 'db:verify' >> '/srv/shop/.stevedore/schedule-backup.log' 2>&1`,
	}, entries[0])
}

// Lines of the user's that AddCron and RemoveCron must leave as they are.
const (
	userLines = "# m h dom mon dow command\r\nMAILTO=ann@example.com\n\n0 5 * * * /usr/bin/certbot renew # not ours\n"
	ourOld    = "0 0 * * * cd '/srv/shop' && '/old' >> '/l' 2>&1 # stevedore:shop:backup\n"
	otherJob  = "*/5 * * * * cd '/srv/shop' && '/x' >> '/l' 2>&1 # stevedore:shop:verify\n"
	otherProj = "*/5 * * * * cd '/srv/shop2' && '/x' >> '/l' 2>&1 # stevedore:shop2:backup\n"
	commented = "# 0 0 * * * cd '/srv/shop' && '/old' >> '/l' 2>&1 # stevedore:shop:backup\n"
)

func TestAddCron(t *testing.T) {
	line := CronLine(sampleJob(t))
	for _, c := range []struct{ name, crontab, want string }{
		{"empty crontab", "", line + "\n"},
		{"appends after the user's lines", userLines, userLines + line + "\n"},
		{"adds the missing last newline", "0 5 * * * /bin/true", "0 5 * * * /bin/true\n" + line + "\n"},
		{"replaces our line in place", userLines + ourOld + otherJob, userLines + line + "\n" + otherJob},
		{"replaces a CRLF line of ours", "a\n" + strings.TrimSuffix(ourOld, "\n") + "\r\nb\n", "a\n" + line + "\nb\n"},
		{"replaces our last line without newline", userLines + strings.TrimSuffix(ourOld, "\n"), userLines + line + "\n"},
		{"drops copies of our line", ourOld + userLines + ourOld, line + "\n" + userLines},
		{"leaves other projects and jobs", otherProj + otherJob, otherProj + otherJob + line + "\n"},
		{"leaves a commented-out line of ours", commented, commented + line + "\n"},
		{"idempotent", userLines + line + "\n", userLines + line + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, AddCron(c.crontab, line))
		})
	}
}

func TestRemoveCron(t *testing.T) {
	for _, c := range []struct {
		name, crontab, want string
		removed             bool
	}{
		{"empty crontab", "", "", false},
		{"only the user's lines", userLines, userLines, false},
		{"our line between the user's", userLines + ourOld + userLines, userLines + userLines, true},
		{"every copy", ourOld + userLines + ourOld, userLines, true},
		{"our last line without newline", userLines + strings.TrimSuffix(ourOld, "\n"), userLines, true},
		{"not another job or project", otherJob + otherProj, otherJob + otherProj, false},
		{"not a commented-out line", commented, commented, false},
		{"no newline at the end of the user's", "0 5 * * * /bin/true", "0 5 * * * /bin/true", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, removed := RemoveCron(c.crontab, "shop", "backup")
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.removed, removed)
		})
	}
}

func TestListCron(t *testing.T) {
	crontab := userLines + ourOld + commented + otherProj +
		"@daily cd '/srv/shop' && '/x' # stevedore:shop:daily\n" +
		"* * * * # stevedore:shop:toofew\n" +
		"* * * * * /x # stevedore:Shop:upper\n" +
		"* * * * * /x # stevedore:shop:a:b\n" +
		"* * * * * /x # stevedore:shop\n" +
		"* * * * * /x #stevedore:shop:nospace\n"
	assert.Equal(t, []Entry{
		{Project: "shop", Name: "backup", Schedule: "0 0 * * *", Command: "cd '/srv/shop' && '/old' >> '/l' 2>&1"},
		{Project: "shop2", Name: "backup", Schedule: "*/5 * * * *", Command: "cd '/srv/shop2' && '/x' >> '/l' 2>&1"},
		{Project: "shop", Name: "daily", Schedule: "@daily", Command: "cd '/srv/shop' && '/x'"},
	}, ListCron(crontab))
}

// fakeProgram puts a shell script named name first on PATH for this test.
func fakeProgram(t *testing.T, name, script string) {
	t.Helper()
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// fakeCrontab stands in for crontab(1), keeping the crontab in a file, and
// returns that file's path.
func fakeCrontab(t *testing.T) string {
	t.Helper()
	tab := filepath.Join(t.TempDir(), "crontab")
	fakeProgram(t, "crontab", `tab=`+shellQuote(tab)+`
case "$*" in
-l) [ -f "$tab" ] || { echo "no crontab for tester" >&2; exit 1; }; cat "$tab" ;;
-) cat > "$tab" ;;
*) echo "unexpected: $*" >&2; exit 2 ;;
esac
`)
	return tab
}

func TestCronSchedulerKeepsTheUsersLines(t *testing.T) {
	tab := fakeCrontab(t)
	ctx := t.Context()
	cron := cronScheduler{user: "tester"}
	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "logs", "backup.log")

	found, err := cron.List(ctx, "")
	require.NoError(t, err, "no crontab yet is an empty one")
	assert.Empty(t, found)
	removed, err := cron.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.False(t, removed)
	assert.NoFileExists(t, tab, "removing nothing writes nothing")

	require.NoError(t, os.WriteFile(tab, []byte(userLines), 0o600))
	require.NoError(t, cron.Install(ctx, j))
	assert.DirExists(t, filepath.Dir(j.Log), "Install makes the log's folder")
	other := sampleJob(t)
	other.Project, other.Log = "shop2", j.Log
	require.NoError(t, cron.Install(ctx, other))
	j.Every = mustInterval(t, "6h")
	require.NoError(t, cron.Install(ctx, j))
	assertFile(t, tab, userLines+CronLine(j)+"\n"+CronLine(other)+"\n")

	found, err = cron.List(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, []Installed{{Kind: "cron", Project: "shop", Name: "backup", Schedule: "0 */6 * * *", Where: "crontab of tester"}}, found)
	found, err = cron.List(ctx, "")
	require.NoError(t, err)
	assert.Len(t, found, 2)

	removed, err = cron.Remove(ctx, "shop", "backup")
	require.NoError(t, err)
	assert.True(t, removed)
	assertFile(t, tab, userLines+CronLine(other)+"\n")
}

func TestCronSchedulerSaysWhyCrontabFailed(t *testing.T) {
	fakeProgram(t, "crontab", `[ "$1" = -l ] && exit 0
cat > /dev/null
echo '"-":1: bad minute' >&2
echo 'errors in crontab file, can'\''t install.' >&2
exit 1
`)
	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "backup.log")
	err := cronScheduler{user: "tester"}.Install(t.Context(), j)
	require.Error(t, err)
	assert.Equal(t, "writing the crontab of tester: crontab -: exit status 1: errors in crontab file, can't install.", err.Error())
}

func TestCronSchedulerRefusesALineCronWouldCut(t *testing.T) {
	tab := fakeCrontab(t)
	j := sampleJob(t)
	j.Log = filepath.Join(t.TempDir(), "backup.log")
	j.Command = append(j.Command, strings.Repeat("x", maxCronCommand))
	err := cronScheduler{user: "tester"}.Install(t.Context(), j)
	require.ErrorContains(t, err, "cron cuts at 1000: use shorter paths")
	assert.NoFileExists(t, tab)
}

func TestCronSchedulerStopsWithItsContext(t *testing.T) {
	fakeCrontab(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := cronScheduler{user: "tester"}.List(ctx, "")
	require.ErrorIs(t, err, context.Canceled)
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}
