package schedule

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleJob(t *testing.T) Job {
	t.Helper()
	return Job{
		Name:    "backup",
		Project: "shop",
		Dir:     "/srv/shop",
		Command: []string{"/usr/local/go/bin/go", "tool", "mage", "db:backup", "db:verify"},
		Every:   mustInterval(t, "daily@03:30"),
		Log:     "/srv/shop/.stevedore/schedule-backup.log",
		Env:     map[string]string{"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": "/home/ann", "STEVEDORE_SCHEDULED": "1"},
	}
}

func TestValidateAcceptsTheSampleJob(t *testing.T) {
	require.NoError(t, sampleJob(t).Validate())
}

func TestValidateRejects(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Job)
		want   string
	}{
		{"empty name", func(j *Job) { j.Name = "" }, `schedule name ""`},
		{"uppercase name", func(j *Job) { j.Name = "Backup" }, `schedule name "Backup"`},
		{"name with colon", func(j *Job) { j.Name = "a:b" }, `schedule name "a:b"`},
		{"name with dot", func(j *Job) { j.Name = "a.b" }, `schedule name "a.b"`},
		{"name with outer dash", func(j *Job) { j.Name = "backup-" }, `schedule name "backup-"`},
		{"long name", func(j *Job) { j.Name = "a123456789a123456789a123456789a123456789a" }, "at most 40"},
		{"project with space", func(j *Job) { j.Project = "my shop" }, `schedule project "my shop"`},
		{"project with dot", func(j *Job) { j.Project = "shop.v2" }, `schedule project "shop.v2"`},
		{"project starting with dash", func(j *Job) { j.Project = "-shop" }, `schedule project "-shop"`},
		{"no interval", func(j *Job) { j.Every = Interval{} }, "no interval"},
		{"no command", func(j *Job) { j.Command = nil }, "no command"},
		{"relative command", func(j *Job) { j.Command[0] = "go" }, `the command "go" is not an absolute path`},
		{"relative folder", func(j *Job) { j.Dir = "shop" }, `the folder "shop" is not an absolute path`},
		{"relative log", func(j *Job) { j.Log = ".stevedore/x.log" }, `the log ".stevedore/x.log" is not an absolute path`},
		{"newline in an argument", func(j *Job) { j.Command = append(j.Command, "a\n* * * * * evil") }, "control character U+000A"},
		{"carriage return in the folder", func(j *Job) { j.Dir = "/srv/shop\r" }, "control character U+000D"},
		{"NUL in the log", func(j *Job) { j.Log = "/srv/x\x00.log" }, "control character U+0000"},
		{"tab in an env value", func(j *Job) { j.Env["HOME"] = "/home/a\tb" }, "control character U+0009"},
		{"invalid UTF-8", func(j *Job) { j.Command = append(j.Command, "\xff") }, "not valid UTF-8"},
		{"env name with dash", func(j *Job) { j.Env["MY-VAR"] = "1" }, `environment variable name "MY-VAR"`},
		{"env name starting with a digit", func(j *Job) { j.Env["1X"] = "1" }, `environment variable name "1X"`},
		{"password", func(j *Job) { j.Env["PGPASSWORD"] = "hunter2" }, "PGPASSWORD looks like a secret"},
		{"access key", func(j *Job) { j.Env["AWS_ACCESS_KEY_ID"] = "AKIA" }, "AWS_ACCESS_KEY_ID looks like a secret"},
		{"token", func(j *Job) { j.Env["github_token"] = "x" }, "github_token looks like a secret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := sampleJob(t)
			c.change(&j)
			err := j.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}
