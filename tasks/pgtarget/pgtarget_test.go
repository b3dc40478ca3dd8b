package pgtarget

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCredentialsFromEnvFollowsTheOfficialImageDefaults(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		want      Credentials
		wantFiles map[string]string
	}{
		{"defaults", []string{"PATH=/bin", "POSTGRES_PASSWORD=pw"},
			Credentials{User: "postgres", Password: "pw", Database: "postgres", Port: "5432"}, map[string]string{}},
		{"database defaults to the user", []string{"POSTGRES_USER=app", "POSTGRES_PASSWORD=a=b"},
			Credentials{User: "app", Password: "a=b", Database: "app", Port: "5432"}, map[string]string{}},
		{"everything set", []string{"POSTGRES_USER=u", "POSTGRES_PASSWORD=p", "POSTGRES_DB=d", "PGPORT=6543"},
			Credentials{User: "u", Password: "p", Database: "d", Port: "6543"}, map[string]string{}},
		{"secrets in files", []string{"POSTGRES_USER=u", "POSTGRES_PASSWORD_FILE=/run/secrets/pw"},
			Credentials{User: "u", Database: "u", Port: "5432"}, map[string]string{"POSTGRES_PASSWORD": "/run/secrets/pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, files := CredentialsFromEnv(tt.env)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantFiles, files)
		})
	}
}

func TestPgpassLineEscapes(t *testing.T) {
	assert.Equal(t, "*:*:*:app:s3cret\n", PgpassLine(Credentials{User: "app", Password: "s3cret"}))
	assert.Equal(t, `*:*:*:a\:b:p\\w\:d`+"\n", PgpassLine(Credentials{User: "a:b", Password: `p\w:d`}))
}

func TestQuoting(t *testing.T) {
	assert.Equal(t, `"my ""db"""`, QuoteIdent(`my "db"`))
	assert.Equal(t, `'it''s'`, QuoteLiteral("it's"))
}

// No command line carries the password: the client programs get it from a
// private file (sidecars) or their environment (exec).
func TestCommandLinesNeverCarryThePassword(t *testing.T) {
	c := Credentials{User: "u", Password: "hunter2-secret", Database: "d", Port: "5432"}
	for name, args := range map[string][]string{
		"query": PsqlQueryArgs(c, "d", "SELECT 1"),
		"dump":  DumpArgs(c, "/io/stream"),
		"load":  LoadArgs(c, "scratch", "/io/stream"),
	} {
		joined := strings.Join(args, " ")
		assert.NotContains(t, joined, c.Password, name)
		assert.Contains(t, args, "--no-password", "%s never prompts", name)
	}
	assert.Contains(t, LoadArgs(c, "scratch", "/f"), "ON_ERROR_STOP=1")
	assert.Contains(t, PsqlQueryArgs(c, "d", "x"), "ON_ERROR_STOP=1")
	assert.Equal(t, []string{"pg_dump", "--no-password", "-h", "127.0.0.1", "-p", "5432", "-U", "u", "-d", "d", "-f", "/io/stream"}, DumpArgs(c, "/io/stream"))
}

func TestParseOwner(t *testing.T) {
	host, pid, ok := parseOwner("build-host:4242")
	assert.True(t, ok)
	assert.Equal(t, "build-host", host)
	assert.Equal(t, 4242, pid)
	_, _, ok = parseOwner("garbage")
	assert.False(t, ok)
}

func TestCopyCounts(t *testing.T) {
	out := "SET\nCREATE TABLE\nALTER TABLE\nCOPY 3000000\n set_config \n------------\n \n(1 row)\n\nCOPY 0\nCOPY 12\nCREATE INDEX\nCOPYRIGHT 5\n"
	got, err := CopyCounts(strings.NewReader(out))
	assert.NoError(t, err)
	assert.Equal(t, []int64{3000000, 0, 12}, got)
}
