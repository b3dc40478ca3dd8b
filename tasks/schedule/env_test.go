package schedule

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunEnvCarriesSettingsAndNeverSecrets(t *testing.T) {
	environ := []string{
		"PATH=/usr/local/go/bin:/usr/bin", "HOME=/home/alice", "DOCKER_HOST=ssh://builder",
		"STEVEDORE_DB_CONTAINER=shop-db", "STEVEDORE_BACKUP_DIR=/srv/backups", "STEVEDORE_KEEP=30",
		"STEVEDORE_AGE_IDENTITY=AGE-SECRET-KEY-1XYZ", "STEVEDORE_AGE_IDENTITY_FILE=/home/alice/.age/key.txt",
		"STEVEDORE_WEBHOOK_URL=https://hooks.slack.com/services/T/B/token", "STEVEDORE_AGE_RECIPIENTS=age1abc",
		"AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=shh", "AWS_SESSION_TOKEN=tok", "AWS_REGION=eu-west-1",
		"PGPASSWORD=pw", "GITHUB_TOKEN=ghp", "EDITOR=vim", "STEVEDORE_EMPTY=", "STEVEDORE_NEWLINE=a\nb", "malformed",
	}
	env := RunEnv(environ)
	assert.Equal(t, map[string]string{
		"STEVEDORE_SCHEDULED": "1", "PATH": "/usr/local/go/bin:/usr/bin", "HOME": "/home/alice", "DOCKER_HOST": "ssh://builder",
		"STEVEDORE_DB_CONTAINER": "shop-db", "STEVEDORE_BACKUP_DIR": "/srv/backups", "STEVEDORE_KEEP": "30",
		"STEVEDORE_AGE_IDENTITY_FILE": "/home/alice/.age/key.txt", "STEVEDORE_AGE_RECIPIENTS": "age1abc", "AWS_REGION": "eu-west-1",
	}, env)
	assert.Equal(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "STEVEDORE_AGE_IDENTITY", "STEVEDORE_WEBHOOK_URL"}, Dropped(environ),
		"what the installer says the run will not have")
	lines := RunEnv([]string{"STEVEDORE_AGE_RECIPIENTS=age1abc\nssh-ed25519 AAAAC3 bob\n"})
	assert.Equal(t, "age1abc,ssh-ed25519 AAAAC3 bob", lines["STEVEDORE_AGE_RECIPIENTS"], "one key per line becomes the comma list")
	j := Job{Name: "backup", Project: "shop", Dir: "/src/shop", Command: []string{"/usr/bin/go", "tool", "mage", "db:backup"},
		Every: mustInterval(t, "daily"), Log: "/src/shop/.stevedore/schedule/backup.log", Env: env}
	assert.NoError(t, j.Validate(), "what RunEnv keeps is what a Job may hold")
}
