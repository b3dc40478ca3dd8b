// Package fakedb is a recording fake pgtarget.Database, for testing the
// restore protocol of package pgbackup.
//
// It is a fake: the real-PostgreSQL tests stay the proof; this drives the
// protocol's failure paths without Docker. It models just enough of a
// server to be meaningful: its databases (name, owner, whether they accept
// connections, connection limit, comment, client sessions), the rows each
// COPY stored in them (so a test can tell which backup's data is live), the
// run lock (a session-level advisory lock), and transactions (a Query is one
// transaction, as psql -c and the swap's BEGIN … COMMIT make it). It reads
// exactly the SQL pgbackup sends and refuses anything else, so a change of
// that SQL fails the tests rather than passing unnoticed.
//
// Every call is recorded (Calls), and any of them can be made to fail
// (Inject, FailOn) the way psql does: with a *pgtarget.ExitError built by
// pgtarget.ParseExit from what psql would print.
package fakedb

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// Op names a method of pgtarget.Database, for recording and for faults.
type Op string

// The methods that reach the server.
const (
	OpQuery     Op = "Query"
	OpLoad      Op = "Load"
	OpDump      Op = "Dump"
	OpHold      Op = "Hold"
	OpFreeSpace Op = "FreeSpace"
)

// Table is a table's data: the lines of its COPY block, as they are.
type Table struct {
	Name string // as the dump writes it, e.g. public.item
	Rows []string
}

// Database is a database on the fake server.
type Database struct {
	Name               string
	Owner              string // "" means postgres
	RefusesConnections bool   // datallowconn is false
	ConnLimit          int    // 0 means none (PostgreSQL's -1)
	Comment            *string
	Sessions           []string // application_name of each client connected
	Tables             []Table
	LargeObjects       int64
}

// Call is one recorded call.
type Call struct {
	Op  Op
	DB  string // the database it ran in; "" for Dump and FreeSpace
	SQL string // the SQL sent; for Load, a summary of the script read
	Err error  // what it returned
}

func (c Call) String() string {
	s := fmt.Sprintf("%s %s: %s", c.Op, c.DB, c.SQL)
	if c.Err != nil {
		s += " => " + c.Err.Error()
	}
	return s
}

// Fault makes matching work fail. Faults are checked in the order they were
// injected; the first that fires wins.
type Fault struct {
	Op Op // the method it applies to; "" for any
	// Match is a substring of what the fault watches: each statement of a
	// Query (split at ";\n", trimmed of its ';'), the SQL of a Hold, each
	// line of a Load's script, the whole text of a Dump. "" matches all.
	Match string
	// Nth is the first match that fires (1-based; 0 means the first), and
	// Times how many matches fire from there (0: all that follow).
	Nth, Times int
	// After is, for Load, the bytes of the script that must be read before
	// the fault can fire; for Dump, the bytes written before it fails.
	After int64
	// Err is what the call returns. For Load and Dump it may be nil: the
	// fault then only loses rows, runs Do or cuts the dump short.
	Err error
	// AfterCommit lets a Query take effect in full before it returns Err:
	// the server did the work, the answer was lost on the way back.
	AfterCommit bool
	// LoseRows makes a Load's COPY block that the fault fires on (its
	// "COPY … FROM stdin;" line) store, and report, that many rows fewer.
	LoseRows int
	// Do runs when the fault fires, e.g. to cancel a context. It runs under
	// the fake's lock and must not call the fake.
	Do func()

	seen int
}

func (f *Fault) fires(op Op, text string, read int64) bool {
	if f.Op != "" && f.Op != op || !strings.Contains(text, f.Match) || (op == OpLoad && read < f.After) {
		return false
	}
	f.seen++
	first := max(f.Nth, 1)
	return f.seen >= first && (f.Times == 0 || f.seen < first+f.Times)
}

// DB is a client of the fake server; it implements pgtarget.Database.
type DB struct {
	srv *server
	app string // the application_name of its sessions
}

var _ pgtarget.Database = (*DB)(nil)

type server struct {
	mu        sync.Mutex
	live      string
	dbs       map[string]*Database
	holds     []*hold
	faults    []*Fault
	calls     []Call
	freeSpace int64
}

// hold is a session Hold opened, and the advisory lock it took.
type hold struct {
	db, app string
	key     int64
	locked  bool // it holds key: no other session did
	open    bool
}

// Option configures the server New makes.
type Option func(*server)

// WithTables fills the live database.
func WithTables(tables ...Table) Option {
	return func(s *server) { s.dbs[s.live].Tables = cloneTables(tables) }
}

// WithDatabase puts d on the server (replacing one of its name): a leftover
// scratch database, a kept one, a live one in another state.
func WithDatabase(d Database) Option {
	return func(s *server) {
		if d.Owner == "" {
			d.Owner = "postgres"
		}
		s.dbs[d.Name] = cloneDB(&d)
	}
}

// WithoutDatabase removes a database, e.g. the live one.
func WithoutDatabase(name string) Option {
	return func(s *server) { delete(s.dbs, name) }
}

// WithFreeSpace sets what FreeSpace answers (default 100 GiB).
func WithFreeSpace(bytes int64) Option { return func(s *server) { s.freeSpace = bytes } }

// New returns a client of a new fake server that holds the live database
// (empty, owned by postgres) beside postgres, template0 and template1. Its
// sessions are this process's, named pgtarget.AppName() as stevedore's are.
func New(live string, opts ...Option) *DB {
	s := &server{live: live, dbs: map[string]*Database{}, freeSpace: 100 << 30}
	for _, name := range []string{"postgres", "template0", "template1", live} {
		s.dbs[name] = &Database{Name: name, Owner: "postgres", RefusesConnections: name == "template0"}
	}
	for _, o := range opts {
		o(s)
	}
	return &DB{srv: s, app: pgtarget.AppName()}
}

// As returns a client of the same server whose sessions are named app: another
// stevedore run, or any other program.
func (d *DB) As(app string) *DB { return &DB{srv: d.srv, app: app} }

// Inject adds a fault.
func (d *DB) Inject(f Fault) {
	d.srv.mu.Lock()
	defer d.srv.mu.Unlock()
	d.srv.faults = append(d.srv.faults, &f)
}

// FailOn makes everything containing match fail with err: a Query's
// statement, a Hold, a Load's line, a Dump (see Fault.Match).
func (d *DB) FailOn(match string, err error) { d.Inject(Fault{Match: match, Err: err}) }

// Calls returns what was called, in order.
func (d *DB) Calls() []Call {
	d.srv.mu.Lock()
	defer d.srv.mu.Unlock()
	return slices.Clone(d.srv.calls)
}

// Count returns how many calls of op sent SQL containing match.
func (d *DB) Count(op Op, match string) int {
	n := 0
	for _, c := range d.Calls() {
		if c.Op == op && strings.Contains(c.SQL, match) {
			n++
		}
	}
	return n
}

// Database returns a copy of database name, if it exists.
func (d *DB) Database(name string) (Database, bool) {
	d.srv.mu.Lock()
	defer d.srv.mu.Unlock()
	db, ok := d.srv.dbs[name]
	if !ok {
		return Database{}, false
	}
	return *cloneDB(db), true
}

// Names returns the names of the databases on the server, sorted.
func (d *DB) Names() []string {
	d.srv.mu.Lock()
	defer d.srv.mu.Unlock()
	return slices.Sorted(maps.Keys(d.srv.dbs))
}

// Describe implements pgtarget.Database.
func (d *DB) Describe() string { return "fake server (database " + d.srv.live + ")" }

// Credentials implements pgtarget.Database.
func (d *DB) Credentials() pgtarget.Credentials {
	return pgtarget.Credentials{User: "postgres", Password: "secret", Database: d.srv.live, Port: "5432"}
}

// FreeSpace implements pgtarget.Database.
func (d *DB) FreeSpace(ctx context.Context) (int64, error) {
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	err := ctx.Err()
	if f := s.fire(OpFreeSpace, "", 0); err == nil && f != nil {
		err = f.Err
	}
	s.calls = append(s.calls, Call{Op: OpFreeSpace, Err: err})
	if err != nil {
		return 0, err
	}
	return s.freeSpace, nil
}

// fire returns the first fault that fires, having run its Do. The caller
// holds s.mu.
func (s *server) fire(op Op, text string, read int64) *Fault {
	for _, f := range s.faults {
		if f.fires(op, text, read) {
			if f.Do != nil {
				f.Do()
			}
			return f
		}
	}
	return nil
}

// connect fails as psql does when database db cannot be connected to.
func (s *server) connect(db string) error {
	d, ok := s.dbs[db]
	switch {
	case !ok:
		return fatal("3D000", fmt.Sprintf("database %q does not exist", db))
	case d.RefusesConnections:
		return fatal("55000", fmt.Sprintf("database %q is not currently accepting connections", db))
	}
	return nil
}

// Query implements pgtarget.Database. The statements run as one
// transaction: on an error nothing of them remains.
func (d *DB) Query(ctx context.Context, db, sql string) (string, error) {
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.query(ctx, db, sql)
	s.calls = append(s.calls, Call{Op: OpQuery, DB: db, SQL: sql, Err: err})
	return out, err
}

func (s *server) query(ctx context.Context, db, sql string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := s.connect(db); err != nil {
		return "", err
	}
	tx := &txn{s: s, cur: db, dbs: map[string]*Database{}}
	for name, d := range s.dbs {
		tx.dbs[name] = cloneDB(d)
	}
	var out []string
	var lost error
	for _, stmt := range statements(sql) {
		if f := s.fire(OpQuery, stmt, 0); f != nil && f.Err != nil {
			if !f.AfterCommit {
				return "", f.Err
			}
			lost = f.Err
		}
		res, err := tx.exec(stmt)
		if err != nil {
			return "", err
		}
		if res != "" {
			out = append(out, res)
		}
	}
	s.dbs = tx.dbs // commit
	if lost != nil {
		return "", lost
	}
	if len(out) == 0 {
		return "", nil
	}
	return strings.Join(out, "\n") + "\n", nil
}

// statements splits a script the way pgbackup writes them: one statement
// per line ending in ';'. A single statement may span lines.
func statements(sql string) []string {
	var out []string
	for _, s := range strings.Split(sql, ";\n") {
		if s = strings.TrimSuffix(strings.TrimSpace(s), ";"); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// txn is a Query's transaction: it works on a copy of the databases.
type txn struct {
	s   *server
	cur string // the database the session is connected to
	dbs map[string]*Database
}

const (
	ident   = `"((?:[^"]|"")*)"`
	literal = `'((?:[^']|'')*)'`
)

// The statements pgbackup sends, as it writes them.
var (
	createRe    = regexp.MustCompile(`^CREATE DATABASE ` + ident + ` WITH TEMPLATE template0 OWNER ` + ident + ` ENCODING `)
	dropRe      = regexp.MustCompile(`^DROP DATABASE (IF EXISTS )?` + ident + `( WITH \(FORCE\))?$`)
	renameRe    = regexp.MustCompile(`^ALTER DATABASE ` + ident + ` RENAME TO ` + ident + `$`)
	allowRe     = regexp.MustCompile(`^ALTER DATABASE ` + ident + ` WITH ALLOW_CONNECTIONS (true|false)$`)
	ownerRe     = regexp.MustCompile(`^ALTER DATABASE ` + ident + ` OWNER TO ` + ident + `$`)
	connLimitRe = regexp.MustCompile(`^ALTER DATABASE ` + ident + ` CONNECTION LIMIT (-?\d+)$`)
	commentRe   = regexp.MustCompile(`^COMMENT ON DATABASE ` + ident + ` IS (NULL|` + literal + `)$`)
	terminateRe = regexp.MustCompile(`^SELECT count\(pg_terminate_backend\(pid\)\) FROM pg_stat_activity WHERE datname IN \((.*)\) AND pid <> pg_backend_pid\(\)$`)
	swappedRe   = regexp.MustCompile(`^SELECT count\(\*\) FILTER \(WHERE datname = ` + literal + `\) \|\| ' ' \|\| count\(\*\) FILTER \(WHERE datname = ` + literal + `\) FROM pg_database$`)
	namesRe     = regexp.MustCompile(`(?s)WHERE d\.datname = ANY\(ARRAY\[(.*?)\]::text\[\]\)`)
	lockedByRe  = regexp.MustCompile(`l\.classid = (\d+) AND l\.objid = (\d+) AND l\.objsubid = 1`)
	tryLockRe   = regexp.MustCompile(`^SELECT CASE WHEN pg_try_advisory_lock\((-?\d+)\) THEN '' ELSE coalesce\(\(`)
	literalRe   = regexp.MustCompile(literal)
)

const (
	serverQueryStart = "SELECT json_build_object(\n 'databases'"
	sizeQuery        = "SELECT pg_database_size(current_database())"
	largeObjectQuery = "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata"
)

func unquote(s string) string { return strings.ReplaceAll(s, `""`, `"`) }
func unlit(s string) string   { return strings.ReplaceAll(s, `''`, `'`) }

// exec runs one statement and returns what psql would print of it.
func (t *txn) exec(stmt string) (string, error) {
	if m := createRe.FindStringSubmatch(stmt); m != nil {
		name := unquote(m[1])
		if _, ok := t.dbs[name]; ok {
			return "", serverError("42P04", fmt.Sprintf("database %q already exists", name))
		}
		t.dbs[name] = &Database{Name: name, Owner: unquote(m[2])}
		return "", nil
	}
	if m := dropRe.FindStringSubmatch(stmt); m != nil {
		name := unquote(m[2])
		d, ok := t.dbs[name]
		switch {
		case !ok && m[1] != "":
			return "", nil
		case !ok:
			return "", serverError("3D000", fmt.Sprintf("database %q does not exist", name))
		case name == t.cur:
			return "", serverError("55006", "cannot drop the currently open database")
		case len(t.sessions(d)) > 0 && m[3] == "":
			return "", inUse(name)
		}
		delete(t.dbs, name)
		return "", nil
	}
	if m := renameRe.FindStringSubmatch(stmt); m != nil {
		from, to := unquote(m[1]), unquote(m[2])
		d, err := t.database(from)
		switch {
		case err != nil:
			return "", err
		case t.dbs[to] != nil:
			return "", serverError("42P04", fmt.Sprintf("database %q already exists", to))
		case from == t.cur:
			return "", serverError("0A000", "current database cannot be renamed")
		case len(t.sessions(d)) > 0:
			return "", inUse(from)
		}
		delete(t.dbs, from)
		d.Name = to
		t.dbs[to] = d
		return "", nil
	}
	if m := allowRe.FindStringSubmatch(stmt); m != nil {
		d, err := t.database(unquote(m[1]))
		if err == nil {
			d.RefusesConnections = m[2] == "false"
		}
		return "", err
	}
	if m := ownerRe.FindStringSubmatch(stmt); m != nil {
		d, err := t.database(unquote(m[1]))
		if err == nil {
			d.Owner = unquote(m[2])
		}
		return "", err
	}
	if m := connLimitRe.FindStringSubmatch(stmt); m != nil {
		d, err := t.database(unquote(m[1]))
		if err == nil {
			d.ConnLimit, _ = strconv.Atoi(m[2])
			d.ConnLimit = max(d.ConnLimit, 0)
		}
		return "", err
	}
	if m := commentRe.FindStringSubmatch(stmt); m != nil {
		d, err := t.database(unquote(m[1]))
		if err == nil {
			d.Comment = nil
			if m[2] != "NULL" {
				c := unlit(m[3])
				d.Comment = &c
			}
		}
		return "", err
	}
	if m := terminateRe.FindStringSubmatch(stmt); m != nil {
		n := 0
		for _, lm := range literalRe.FindAllStringSubmatch(m[1], -1) {
			if d := t.dbs[unlit(lm[1])]; d != nil {
				n += len(d.Sessions) // held sessions are on the maintenance database, never here
				d.Sessions = nil
			}
		}
		return strconv.Itoa(n), nil
	}
	if m := swappedRe.FindStringSubmatch(stmt); m != nil {
		count := func(name string) int {
			if t.dbs[unlit(name)] != nil {
				return 1
			}
			return 0
		}
		return fmt.Sprintf("%d %d", count(m[1]), count(m[2])), nil
	}
	switch {
	case stmt == "BEGIN", stmt == "COMMIT":
		return "", nil
	case stmt == sizeQuery:
		return strconv.FormatInt(size(t.dbs[t.cur]), 10), nil
	case stmt == largeObjectQuery:
		return strconv.FormatInt(t.dbs[t.cur].LargeObjects, 10), nil
	case strings.HasPrefix(stmt, serverQueryStart):
		return t.serverView(stmt)
	}
	return "", serverError("42601", "fakedb does not model this statement: "+firstLine(stmt))
}

func (t *txn) database(name string) (*Database, error) {
	d, ok := t.dbs[name]
	if !ok {
		return nil, serverError("3D000", fmt.Sprintf("database %q does not exist", name))
	}
	return d, nil
}

// sessions returns the client sessions on d: its own, and those Hold opened.
func (t *txn) sessions(d *Database) []string {
	out := slices.Clone(d.Sessions)
	for _, h := range t.s.holds {
		if h.open && h.db == d.Name {
			out = append(out, h.app)
		}
	}
	return out
}

// size makes up a database's size from what it holds.
func size(d *Database) int64 {
	n := int64(8 << 20)
	for _, t := range d.Tables {
		for _, r := range t.Rows {
			n += int64(len(r)) + 24
		}
	}
	return n
}

// serverView answers pgbackup's serverQuery: the databases with their
// sessions, the state of those named, and who holds the lock asked about.
func (t *txn) serverView(stmt string) (string, error) {
	type dbInfo struct {
		Name      string   `json:"name"`
		AllowConn bool     `json:"allow_conn"`
		Sessions  []string `json:"sessions"`
		Size      int64    `json:"size"`
	}
	m, l := namesRe.FindStringSubmatch(stmt), lockedByRe.FindStringSubmatch(stmt)
	if m == nil || l == nil {
		return "", serverError("42601", "fakedb: the listing query changed: "+firstLine(stmt))
	}
	v := struct {
		Databases []dbInfo         `json:"databases"`
		States    []map[string]any `json:"states"` // the server's JSON, as pgbackup's dbState reads it
		LockedBy  string           `json:"locked_by"`
	}{Databases: []dbInfo{}, States: []map[string]any{}}
	for _, name := range slices.Sorted(maps.Keys(t.dbs)) {
		d := t.dbs[name]
		v.Databases = append(v.Databases, dbInfo{Name: name, AllowConn: !d.RefusesConnections, Sessions: append([]string{}, t.sessions(d)...), Size: size(d)})
	}
	for _, lm := range literalRe.FindAllStringSubmatch(m[1], -1) {
		if d := t.dbs[unlit(lm[1])]; d != nil {
			v.States = append(v.States, map[string]any{"name": d.Name, "owner": d.Owner, "encoding": "UTF8",
				"collate": "en_US.utf8", "ctype": "en_US.utf8", "locale_provider": "c", "tablespace": "pg_default",
				"conn_limit": connLimit(d), "allow_conn": !d.RefusesConnections, "comment": d.Comment, "default_acl": true})
		}
	}
	hi, _ := strconv.ParseUint(l[1], 10, 64)
	lo, _ := strconv.ParseUint(l[2], 10, 64)
	if h := t.s.holder(int64(hi<<32 | lo)); h != nil {
		v.LockedBy = h.app
	}
	out, err := json.Marshal(v)
	return string(out), err
}

func connLimit(d *Database) int {
	if d.ConnLimit == 0 {
		return -1
	}
	return d.ConnLimit
}

func (s *server) holder(key int64) *hold {
	for _, h := range s.holds {
		if h.open && h.locked && h.key == key {
			return h
		}
	}
	return nil
}

// Hold implements pgtarget.Database for the run lock pgbackup.LockServer
// takes: the session stays open, holding the lock, until release.
func (d *DB) Hold(ctx context.Context, db, sql string) (string, func(), error) {
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	first, release, err := s.hold(ctx, d.app, db, sql)
	s.calls = append(s.calls, Call{Op: OpHold, DB: db, SQL: sql, Err: err})
	return first, release, err
}

func (s *server) hold(ctx context.Context, app, db, sql string) (string, func(), error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	if err := s.connect(db); err != nil {
		return "", nil, err
	}
	if f := s.fire(OpHold, sql, 0); f != nil && f.Err != nil {
		return "", nil, f.Err
	}
	m := tryLockRe.FindStringSubmatch(sql)
	if m == nil {
		return "", nil, serverError("42601", "fakedb does not model this held statement: "+firstLine(sql))
	}
	key, _ := strconv.ParseInt(m[1], 10, 64)
	h := &hold{db: db, app: app, key: key, open: true}
	first := ""
	if other := s.holder(key); other != nil {
		first = other.app // the lock stays the other's; this session is open all the same
	} else {
		h.locked = true
	}
	s.holds = append(s.holds, h)
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			h.open = false
			s.calls = append(s.calls, Call{Op: OpHold, DB: db, SQL: "-- release"})
		})
	}
	return first, release, nil
}

// Dump implements pgtarget.Database: it writes the live database as
// Script writes it. A Dump fault with After cuts it short there.
func (d *DB) Dump(ctx context.Context, w io.Writer) error {
	s := d.srv
	s.mu.Lock()
	err := ctx.Err()
	if err == nil {
		err = s.connect(s.live)
	}
	var text string
	var f *Fault
	if err == nil {
		live := s.dbs[s.live]
		text = Script(live.LargeObjects, live.Tables...)
		if f = s.fire(OpDump, text, 0); f != nil && f.After > 0 && f.After < int64(len(text)) {
			text = text[:f.After]
		}
	}
	s.mu.Unlock()
	if err == nil {
		_, err = io.WriteString(w, text)
	}
	if err == nil && f != nil {
		err = f.Err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Op: OpDump, SQL: fmt.Sprintf("-- dump: %d bytes", len(text)), Err: err})
	return err
}

// Script is the plain dump of a database holding tables and large objects,
// laid out as pg_dump lays one out, trailer included.
func Script(largeObjects int64, tables ...Table) string {
	var b strings.Builder
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 16.4 (fakedb)\n-- Dumped by pg_dump version 16.4 (fakedb)\n\n")
	b.WriteString("SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n")
	for _, t := range tables {
		fmt.Fprintf(&b, "CREATE TABLE %s (\n    line text\n);\n\n", t.Name)
	}
	for _, t := range tables {
		fmt.Fprintf(&b, "COPY %s (line) FROM stdin;\n", t.Name)
		for _, r := range t.Rows {
			b.WriteString(r + "\n")
		}
		b.WriteString("\\.\n\n\n")
	}
	for i := range largeObjects {
		fmt.Fprintf(&b, "SELECT pg_catalog.lo_create('%d');\n", 16400+i)
	}
	b.WriteString("\n--\n-- " + dumpscan.Trailer[len("-- "):] + "\n--\n\n")
	return b.String()
}

// Load implements pgtarget.Database. It reads the script line by line, as
// psql runs it: each COPY block is stored in db when its "\." is read
// (psql commits each statement), INSERT statements and large objects are
// counted, the rest of the SQL is accepted and ignored. It returns the tags
// psql would print: a COPY's rows as stored.
func (d *DB) Load(ctx context.Context, db string, r io.Reader) (pgtarget.Tags, error) {
	l := &loader{s: d.srv, db: db}
	tags, err := l.run(ctx, r)
	s := d.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Op: OpLoad, DB: db, SQL: l.summary(), Err: err})
	return tags, err
}

type loader struct {
	s      *server
	db     string
	read   int64
	lineNo int
	stored []string // what each COPY stored, for the record
}

func (l *loader) summary() string {
	return fmt.Sprintf("-- load: %d bytes read; %s", l.read, strings.Join(l.stored, "; "))
}

func (l *loader) run(ctx context.Context, r io.Reader) (pgtarget.Tags, error) {
	var tags pgtarget.Tags
	l.s.mu.Lock()
	err := l.s.connect(l.db)
	l.s.mu.Unlock()
	if err != nil {
		return tags, err
	}
	br := bufio.NewReader(r)
	var copying *Table
	lose := 0
	for {
		if err := ctx.Err(); err != nil {
			return tags, err // psql was stopped
		}
		line, rerr := br.ReadString('\n')
		if line != "" {
			l.read += int64(len(line))
			l.lineNo++
			l.s.mu.Lock()
			f := l.s.fire(OpLoad, line, l.read)
			l.s.mu.Unlock()
			if f != nil && f.Err != nil {
				return tags, f.Err
			}
			text := strings.TrimSuffix(line, "\n")
			switch {
			case copying != nil && text == `\.`:
				if err := l.store(copying, lose, &tags); err != nil {
					return tags, err
				}
				copying = nil
			case copying != nil:
				copying.Rows = append(copying.Rows, text)
			case strings.HasPrefix(text, "COPY ") && strings.HasSuffix(text, " FROM stdin;"):
				copying, lose = &Table{Name: dumpscan.CopyTable(text)}, 0
				if f != nil {
					lose = f.LoseRows
				}
			case strings.HasPrefix(text, "SELECT pg_catalog.lo_create("):
				if err := l.apply(func(d *Database) { d.LargeObjects++ }); err != nil {
					return tags, err
				}
			case strings.HasPrefix(text, "INSERT INTO "):
				tags.Inserts++
				tags.InsertedRows++
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return tags, rerr // what psql read from failed
		}
	}
	if copying != nil { // the script ended inside a COPY: psql ends it there
		return tags, l.store(copying, lose, &tags)
	}
	return tags, nil
}

// store commits a COPY block, less the rows a fault loses.
func (l *loader) store(t *Table, lose int, tags *pgtarget.Tags) error {
	t.Rows = t.Rows[:max(0, len(t.Rows)-lose)]
	err := l.apply(func(d *Database) {
		tables := cloneTables(d.Tables)
		if i := slices.IndexFunc(tables, func(x Table) bool { return x.Name == t.Name }); i >= 0 {
			tables[i].Rows = append(tables[i].Rows, t.Rows...)
		} else {
			tables = append(tables, Table{Name: t.Name, Rows: slices.Clone(t.Rows)})
		}
		d.Tables = tables
	})
	if err == nil {
		tags.Copies = append(tags.Copies, int64(len(t.Rows)))
		l.stored = append(l.stored, fmt.Sprintf("COPY %s %d", t.Name, len(t.Rows)))
	}
	return err
}

// apply changes the database being loaded, which must still be there.
func (l *loader) apply(change func(*Database)) error {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	d, ok := l.s.dbs[l.db]
	if !ok {
		return scriptError(l.lineNo, "57P01", "terminating connection due to administrator command")
	}
	d = cloneDB(d)
	change(d)
	l.s.dbs[l.db] = d
	return nil
}

// ServerError is the error psql -c reports when a statement fails with
// SQLSTATE code.
func ServerError(code, msg string) error { return serverError(code, msg) }

func serverError(code, msg string) *pgtarget.ExitError {
	return pgtarget.ParseExit("psql", 1, fmt.Sprintf("ERROR:  %s: %s\n", code, msg))
}

// ScriptError is the error psql reports when statement line of a script
// fails with SQLSTATE code (ON_ERROR_STOP): bad data, if the code says so.
func ScriptError(line int, code, msg string) error { return scriptError(line, code, msg) }

func scriptError(line int, code, msg string) *pgtarget.ExitError {
	return pgtarget.ParseExit("psql", 3, fmt.Sprintf("psql:/io/stream:%d: ERROR:  %s: %s\n", line, code, msg))
}

// ConnectionLost is the error psql reports when the server goes away.
func ConnectionLost() error {
	return pgtarget.ParseExit("psql", 2, "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n")
}

func fatal(code, msg string) *pgtarget.ExitError {
	return pgtarget.ParseExit("psql", 2, fmt.Sprintf("FATAL:  %s: %s\n", code, msg))
}

func inUse(name string) *pgtarget.ExitError {
	return serverError("55006", fmt.Sprintf("database %q is being accessed by other users", name))
}

// DeadRun is the application_name of a stevedore process of this machine
// that is gone (pgtarget.OrphanSession says so): a session it left is no
// one's.
func DeadRun() string {
	const pid = 1 << 30 // above any pid_max
	host, _ := os.Hostname()
	p := ":" + strconv.Itoa(pid)
	if room := 63 - len("stevedore ") - len(p); len(host) > room {
		host = host[:room]
	}
	return "stevedore " + host + p
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func cloneTables(ts []Table) []Table {
	out := make([]Table, len(ts))
	for i, t := range ts {
		out[i] = Table{Name: t.Name, Rows: slices.Clone(t.Rows)}
	}
	return out
}

func cloneDB(d *Database) *Database {
	c := *d
	c.Sessions = slices.Clone(d.Sessions)
	c.Tables = cloneTables(d.Tables)
	if d.Comment != nil {
		s := *d.Comment
		c.Comment = &s
	}
	return &c
}
