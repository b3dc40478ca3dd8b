// Package pgtarget reaches the PostgreSQL database stevedore backs up: it
// runs queries, streams a plain pg_dump out and a SQL script in, always with
// the client programs of the database's own image, so versions match.
package pgtarget

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Database is a PostgreSQL database, wherever it runs.
type Database interface {
	// Describe names where the database is, for people.
	Describe() string
	// Credentials are the user, password and database in use.
	Credentials() Credentials
	// Query runs sql in database db and returns psql's unaligned, tuples-only
	// output, fields separated by tabs.
	Query(ctx context.Context, db, sql string) (string, error)
	// Dump streams a plain-format pg_dump of the database into w.
	Dump(ctx context.Context, w io.Writer) error
	// Load runs the SQL script read from r in database db, stopping at the
	// first error (psql with ON_ERROR_STOP), and returns what the server
	// reported storing. It ends when psql exits, however long the server
	// works after the last byte (index builds): no deadline but ctx's. A
	// failure is an *ExitError when psql said why.
	Load(ctx context.Context, db string, r io.Reader) (Tags, error)
	// FreeSpace returns the bytes free on the file system of the server's
	// data folder.
	FreeSpace(ctx context.Context) (int64, error)
	// Hold runs sql in database db in a session that stays open until
	// release is called or this process ends, and returns the first line
	// it printed: a session-level lock taken there lasts as long.
	Hold(ctx context.Context, db, sql string) (first string, release func(), err error)
}

// Credentials say who connects to which database. The password is only ever
// handed to client programs through a private file or their environment.
type Credentials struct {
	User     string
	Password string
	Database string
	Port     string
}

// CredentialsFromEnv reads the official postgres image's variables from a
// container's environment, with the image's defaults: user postgres, the
// database named after the user, port 5432. A *_FILE variable is returned in
// files for the caller to read from the container.
func CredentialsFromEnv(env []string) (c Credentials, files map[string]string) {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	files = map[string]string{}
	for _, k := range []string{"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} {
		if p := vars[k+"_FILE"]; p != "" && vars[k] == "" {
			files[k] = p
		}
	}
	c = Credentials{User: vars["POSTGRES_USER"], Password: vars["POSTGRES_PASSWORD"], Database: vars["POSTGRES_DB"], Port: vars["PGPORT"]}
	c.fillDefaults()
	return c, files
}

func (c *Credentials) fillDefaults() {
	if c.User == "" {
		c.User = "postgres"
	}
	if c.Database == "" {
		c.Database = c.User
	}
	if c.Port == "" {
		c.Port = "5432"
	}
}

// PgpassLine is a ~/.pgpass line that gives c's password for any host, port
// and database, escaped as libpq requires.
func PgpassLine(c Credentials) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	return "*:*:*:" + esc.Replace(c.User) + ":" + esc.Replace(c.Password) + "\n"
}

// QuoteIdent quotes a SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLiteral quotes a SQL string literal.
func QuoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// PsqlQueryArgs is the psql command line that runs sql in db over the local
// socket: no psqlrc, quiet, unaligned, tuples only, tab-separated, stop at
// the first error, and errors with their SQLSTATE. The statements of one
// sql run as one transaction; Separately's parts each run as their own.
func PsqlQueryArgs(c Credentials, db, sql string) []string {
	args := []string{"psql", "-X", "-q", "-A", "-t", "-F", "\t", "--no-password",
		"-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-p", c.Port, "-U", c.User, "-d", db}
	for _, part := range strings.Split(sql, statementBreak) {
		args = append(args, "-c", part)
	}
	return args
}

// statementBreak separates the parts of a Separately query. It is a control
// character no SQL statement holds outside a literal.
const statementBreak = "\x1e"

// Separately joins statements into one Query whose statements each run as
// their own transaction, in order, in one session, stopping at the first
// that fails: what a statement that refuses to run inside a transaction
// block (CREATE DATABASE) needs, with the statements before it done in the
// same session a moment earlier.
func Separately(statements ...string) string { return strings.Join(statements, statementBreak) }

// HoldArgs is the psql command line of a Hold: sql, then the session waits
// on its standard input, which stays open for as long as it is held.
func HoldArgs(c Credentials, db, sql string) []string {
	return append(PsqlQueryArgs(c, db, sql), "-f", "-")
}

// DumpArgs is the pg_dump command line that writes a plain dump of c's
// database to file over TCP on the database's own loopback.
func DumpArgs(c Credentials, file string) []string {
	return []string{"pg_dump", "--no-password", "-h", "127.0.0.1", "-p", c.Port, "-U", c.User, "-d", c.Database, "-f", file}
}

// LoadSessionOptions tune the session that loads a backup for bulk work. A
// load always goes into a scratch database that is checked before it is
// swapped in, so commits need not wait for the disk: the swap's own commit
// flushes all the WAL written before it. Index builds get more memory.
const LoadSessionOptions = "-c synchronous_commit=off -c maintenance_work_mem=256MB"

// LoadArgs is the psql command line that runs the script in file against db,
// stopping at the first error so that a failed restore is reported, with
// the error's SQLSTATE (VERBOSITY=verbose) so that its cause can be told. It
// is not quiet: its command tags ("COPY 3000000") say what the server stored.
func LoadArgs(c Credentials, db, file string) []string {
	return []string{"psql", "-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
		"-h", "127.0.0.1", "-p", c.Port, "-U", c.User, "-d", db, "-f", file}
}

// Tags are what psql's command tags say the server stored.
type Tags struct {
	Copies       []int64 // the rows of each COPY, in script order
	Inserts      int64   // INSERT statements run
	InsertedRows int64   // the rows they inserted
}

// ReadTags reads psql's output for its command tags. Query results psql
// prints are indented, so they never read as tags.
func ReadTags(r io.Reader) (Tags, error) {
	var t Tags
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "COPY "); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				t.Copies = append(t.Copies, v)
			}
		} else if rest, ok := strings.CutPrefix(line, "INSERT "); ok { // INSERT oid rows
			if _, n, ok := strings.Cut(rest, " "); ok {
				if v, err := strconv.ParseInt(n, 10, 64); err == nil {
					t.Inserts++
					t.InsertedRows += v
				}
			}
		}
	}
	return t, sc.Err()
}

// AppName is the application_name of every session stevedore opens: it
// names this process, so a later run can tell a session (and the scratch
// database it works on) left by a run that died from one still running.
func AppName() string { return appNameFor(os.Getpid()) }

const appNamePrefix = "stevedore "

// AppNameLike matches the application_name of every stevedore session, in
// a LIKE.
const AppNameLike = appNamePrefix + "%"

// appNameFor fits host and pid in PostgreSQL's 63 bytes of application_name.
func appNameFor(pid int) string {
	host, _ := os.Hostname()
	p := ":" + strconv.Itoa(pid)
	if room := 63 - len(appNamePrefix) - len(p); len(host) > room {
		host = host[:room]
	}
	return appNamePrefix + host + p
}

// ParseAppName reads the host and process id from an AppName.
func ParseAppName(name string) (host string, pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, appNamePrefix)
	if !ok {
		return "", 0, false
	}
	return parseOwner(rest)
}

// OrphanSession reports whether a session with this application_name was
// opened by a stevedore process of this machine that is gone: its work
// will never finish, and what it worked on may be cleaned.
func OrphanSession(appName string) bool {
	_, pid, ok := ParseAppName(appName)
	return ok && appNameFor(pid) == appName && !alive(pid)
}

// FreeSpaceScript prints, like df -P in 1 KiB blocks, the file system of
// the server's data folder (PGDATA in the official image's contract).
const FreeSpaceScript = `df -Pk "${PGDATA:-/var/lib/postgresql/data}"`

// ParseFreeSpace reads FreeSpaceScript's output and returns the bytes available.
func ParseFreeSpace(out string) (int64, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(lines) < 2 || len(fields) < 4 {
		return 0, fmt.Errorf("unexpected df output %q", out)
	}
	kb, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("unexpected df output %q", out)
	}
	return kb << 10, nil
}
