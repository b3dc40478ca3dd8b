package pgtarget

import (
	"os"
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

func TestReadTags(t *testing.T) {
	out := "SET\nCREATE TABLE\nALTER TABLE\nCOPY 3000000\n set_config \n------------\n COPY 7\n INSERT 0 1\n(1 row)\n\nCOPY 0\nCOPY 12\n" +
		"INSERT 0 1\nINSERT 0 3\nCREATE INDEX\nCOPYRIGHT 5\nINSERTED 1 2\n"
	got, err := ReadTags(strings.NewReader(out))
	assert.NoError(t, err)
	assert.Equal(t, Tags{Copies: []int64{3000000, 0, 12}, Inserts: 2, InsertedRows: 4}, got)
}

func TestAppNameNamesThisProcess(t *testing.T) {
	name := AppName()
	assert.LessOrEqual(t, len(name), 63, "PostgreSQL cuts application_name at 63 bytes")
	host, pid, ok := ParseAppName(name)
	assert.True(t, ok)
	assert.Equal(t, os.Getpid(), pid)
	assert.NotEmpty(t, host)
	_, _, ok = ParseAppName("psql")
	assert.False(t, ok)
}

func TestParseFreeSpace(t *testing.T) {
	got, err := ParseFreeSpace("Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/vda        263174212  12345678  83886080      13% /var/lib/postgresql/data\n")
	assert.NoError(t, err)
	assert.EqualValues(t, 83886080<<10, got)
	for _, bad := range []string{"", "df: /x: No such file or directory", "a b c d\nx y z notanumber"} {
		_, err := ParseFreeSpace(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseExitTellsTheScriptFromTheEnvironment(t *testing.T) {
	tests := []struct {
		name       string
		program    string
		status     int
		stderr     string
		fromScript bool
		msg        string
	}{
		{"bad data", "psql", 3, "psql:/io/stream:25: ERROR:  22P02: invalid input syntax for type integer: \"x\"\nCONTEXT:  COPY item, line 3, column id: \"x\"\nLOCATION:  pg_strtoint32, numutils.c:320\n",
			true, `line 25: invalid input syntax for type integer: "x" (SQLSTATE 22P02; COPY item, line 3, column id: "x")`},
		{"bad SQL", "psql", 3, "psql:<stdin>:7: ERROR:  42601: syntax error at or near \"CREAT\"\nLINE 1: CREAT TABLE x;\n", true, "line 7: syntax error"},
		{"disk full", "psql", 3, "psql:/io/stream:9: ERROR:  53100: could not extend file \"base/1/2\": No space left on device\n", false, "No space left on device"},
		{"session ended", "psql", 2, "psql:/io/stream:9: FATAL:  57P01: terminating connection due to administrator command\nserver closed the connection unexpectedly\n", false,
			"psql lost its connection to the server: terminating connection"},
		{"missing role", "psql", 3, "psql:/io/stream:40: ERROR:  42704: role \"prod_owner\" does not exist\n", false, `role "prod_owner" does not exist`},
		{"no privilege", "psql", 3, "psql:/io/stream:40: ERROR:  42501: permission denied to create extension \"hstore\"\n", false, "permission denied"},
		{"killed", "psql", 137, "", false, "psql was killed by signal 9 (out of memory, or stopped from outside)"},
		{"pg_dump", "pg_dump", 1, "pg_dump: error: connection to server failed: FATAL:  database \"app\" does not exist\n", false, `pg_dump exited 1: pg_dump: error: connection to server failed: FATAL:  database "app" does not exist`},
		{"pg_dump's server went", "pg_dump", 1, "pg_dump: error: Dumping the contents of table \"item\" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\npg_dump: detail: Command was: COPY public.item (id, payload) TO stdout;\n", false,
			`pg_dump exited 1: pg_dump: error: Dumping the contents of table "item" failed: PQgetResult() failed. server closed the connection unexpectedly`},
		{"no message", "psql", 1, "", false, "psql exited 1: no message"},
		{"a query's error", "psql", 1, "ERROR:  22012: division by zero\nLOCATION:  int4div, int.c:842\n", false, "division by zero (SQLSTATE 22012)"},
		{"a warning first", "psql", 3, "psql:/io/stream:3: WARNING:  01000: something\npsql:/io/stream:4: ERROR:  42601: syntax error at or near \"x\"\n", true, "line 4: syntax error"},
		{"another language", "psql", 3, "psql:/io/stream:9: FEHLER:  53100: konnte Datei nicht erweitern\n", false, "konnte Datei nicht erweitern (SQLSTATE 53100)"},
		{"missing role in SET ROLE", "psql", 3, "psql:/io/stream:9: ERROR:  22023: role \"prod\" does not exist\n", false, `role "prod" does not exist`},
		{"missing tablespace", "psql", 3, "psql:/io/stream:9: ERROR:  42704: tablespace \"fast\" does not exist\n", false, `tablespace "fast"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseExit(tt.program, tt.status, tt.stderr)
			assert.Equal(t, tt.fromScript, e.FromScript())
			assert.Contains(t, e.Error(), tt.msg)
			assert.NotContains(t, e.Error(), "\n")
		})
	}
}

// Each part of a Separately query is its own -c: psql runs each as its own
// transaction, which CREATE DATABASE needs.
func TestSeparatelyRunsEachStatementOnItsOwn(t *testing.T) {
	c := Credentials{User: "u", Database: "d", Port: "5432"}
	args := PsqlQueryArgs(c, "postgres", Separately("SELECT 1; SELECT 2", "CREATE DATABASE x"))
	var parts []string
	for i, a := range args {
		if a == "-c" {
			parts = append(parts, args[i+1])
		}
	}
	assert.Equal(t, []string{"SELECT 1; SELECT 2", "CREATE DATABASE x"}, parts)
	assert.Equal(t, 1, strings.Count(strings.Join(PsqlQueryArgs(c, "d", "SELECT 1"), " "), "-c "))
}

func TestForbiddenNamesTheMissingPermission(t *testing.T) {
	for _, c := range []struct {
		stderr string
		want   Denied
		line   string
	}{
		{`Error from server (Forbidden): pods "postgres-0" is forbidden: User "reader" cannot create resource "pods/exec" in API group "" in the namespace "shop"`,
			Denied{User: "reader", Verb: "create", Resource: "pods/exec", Namespace: "shop"},
			`Kubernetes user reader may not create pods/exec in namespace shop (RBAC): ask for a Role that grants "create" on "pods/exec"`},
		{`Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:ci:backup" cannot list resource "pods" in API group "" in the namespace "db"`,
			Denied{User: "system:serviceaccount:ci:backup", Verb: "list", Resource: "pods", Namespace: "db"}, ""},
		{`Error from server (Forbidden): nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope`,
			Denied{User: "bob", Verb: "list", Resource: "nodes"}, `Kubernetes user bob may not list nodes (RBAC)`},
	} {
		got, ok := Forbidden(c.stderr)
		if !assert.True(t, ok, c.stderr) {
			continue
		}
		assert.Equal(t, c.want, got)
		assert.Equal(t, []string{"auth", "can-i", c.want.Verb, c.want.Resource}, got.CanI())
		if c.line != "" {
			assert.Contains(t, got.String(), c.line)
		}
	}
	_, ok := Forbidden(`error: the server doesn't have a resource type "pods"`)
	assert.False(t, ok)
}
