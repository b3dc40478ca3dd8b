package diag

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

func checkDatabase(ctx context.Context, eng *engine.Engine, svc stack.Service, m *settings.Migrations) Check {
	ch := Check{ID: "database", Group: "database", Details: map[string]string{}}
	fail := func(summary, next string) Check {
		ch.Status, ch.Summary, ch.Next = Fail, summary, next
		return ch
	}
	if svc.State != "running" {
		return fail(fmt.Sprintf("database: container %s is %s", svc.Container, svc.State), "go tool mage env:up")
	}
	port := 0
	for _, p := range svc.Ports {
		if p.Container == 5432 {
			port = p.Host
		}
	}
	if port == 0 {
		return fail("database: the db service publishes no port for 5432 to connect to", "go tool mage env:status")
	}
	target, err := pgtarget.OpenContainer(ctx, eng, svc.ID) // credentials, *_FILE included
	if err != nil {
		return fail("database: "+err.Error(), "docker ps")
	}
	creds := target.Credentials()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d sslmode=disable connect_timeout=2", port))
	if err != nil {
		return fail("database: "+err.Error(), "")
	}
	cfg.User, cfg.Database, cfg.Password = creds.User, creds.Database, creds.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail(fmt.Sprintf("database %s: cannot connect: %v", creds.Database, err), "go tool mage env:logs -service="+svc.Name)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one, conns, maxConns int
	var version string
	var size int64
	var snapshots int
	var snapshotBytes int64
	err = conn.QueryRow(ctx, `SELECT 1, current_setting('server_version'), pg_database_size(current_database()),
		(SELECT count(*) FROM pg_stat_activity)::int, current_setting('max_connections')::int, `+snapshotsSQL(creds.Database)).
		Scan(&one, &version, &size, &conns, &maxConns, &snapshots, &snapshotBytes)
	if err != nil {
		return fail(fmt.Sprintf("database %s: query failed: %v", creds.Database, err), "go tool mage env:logs -service="+svc.Name)
	}
	facts := databaseFacts{where: svc.Container, name: creds.Database, version: version, size: size, conns: conns, maxConns: maxConns,
		snapshots: snapshots, snapshotBytes: snapshotBytes}
	if m != nil && m.Query != "" {
		var v any
		facts.migrations = readMigrations(m, func() (string, error) {
			err := conn.QueryRow(ctx, m.Query).Scan(&v)
			return fmt.Sprint(v), err
		})
	}
	return judgeDatabase(ch, facts)
}

func checkPodDatabase(ctx context.Context, f pgtarget.Flags, m *settings.Migrations) Check {
	ch := Check{ID: "database", Group: "database"}
	db, err := pgtarget.OpenPod(ctx, f)
	if err != nil {
		ch.Status, ch.Summary, ch.Next = Fail, "database: "+err.Error(), term.NextOf(err)
		return ch
	}
	creds := db.Credentials()
	out, err := db.Query(ctx, creds.Database, `SELECT 1, current_setting('server_version'), pg_database_size(current_database()),
		(SELECT count(*) FROM pg_stat_activity), current_setting('max_connections'), `+snapshotsSQL(creds.Database))
	if err != nil {
		ch.Status, ch.Summary = Fail, fmt.Sprintf("database %s in %s: %v", creds.Database, db.Describe(), err)
		return ch
	}
	f5 := strings.Split(strings.TrimSpace(out), "\t")
	if len(f5) != 7 {
		ch.Status, ch.Summary = Fail, fmt.Sprintf("database %s: unexpected answer %q", creds.Database, out)
		return ch
	}
	facts := databaseFacts{where: db.Describe(), name: creds.Database, version: f5[1]}
	facts.size, _ = strconv.ParseInt(f5[2], 10, 64)
	facts.conns, _ = strconv.Atoi(f5[3])
	facts.maxConns, _ = strconv.Atoi(f5[4])
	facts.snapshots, _ = strconv.Atoi(f5[5])
	facts.snapshotBytes, _ = strconv.ParseInt(f5[6], 10, 64)
	if m != nil && m.Query != "" {
		facts.migrations = readMigrations(m, func() (string, error) {
			v, err := db.Query(ctx, creds.Database, m.Query)
			return strings.TrimSpace(v), err
		})
	}
	return judgeDatabase(ch, facts)
}

// snapshotsSQL counts live's snapshots and their bytes, as two columns.
func snapshotsSQL(live string) string {
	where := `FROM pg_database WHERE datname LIKE ` + pgtarget.QuoteLiteral(pgbackup.SnapshotLike(live))
	return `(SELECT count(*)::int ` + where + `), (SELECT coalesce(sum(pg_database_size(oid)), 0)::bigint ` + where + `)`
}

// databaseFacts are what the database checks read, by pgx or by psql.
type databaseFacts struct {
	where, name, version string
	size                 int64
	conns, maxConns      int
	snapshots            int             // snapshots of the database on the same server
	snapshotBytes        int64           // their size
	migrations           *migrationFacts // nil: the project declares no migrations check
}

// judgeDatabase turns the facts into the check: migrations behind fail,
// never run warn, connections nearly exhausted warn.
func judgeDatabase(ch Check, f databaseFacts) Check {
	version, _, _ := strings.Cut(f.version, " ")
	ch.Details = map[string]string{"where": f.where, "version": version, "size_bytes": strconv.FormatInt(f.size, 10),
		"connections": strconv.Itoa(f.conns), "max_connections": strconv.Itoa(f.maxConns)}
	ch.Status = OK
	ch.Summary = fmt.Sprintf("database %s: SELECT 1 ok, PostgreSQL %s, %.1f MB, %d/%d connections",
		f.name, version, float64(f.size)/1e6, f.conns, f.maxConns)
	if f.snapshots > 0 {
		// Said wherever snapshots show: they share the server's fate.
		ch.Details["snapshots"], ch.Details["snapshot_bytes"] = strconv.Itoa(f.snapshots), strconv.FormatInt(f.snapshotBytes, 10)
		ch.Summary += fmt.Sprintf("; %s (%s) on the same server, not backups", term.Plural(f.snapshots, "snapshot"), term.Bytes(f.snapshotBytes))
	}
	if m := f.migrations; m != nil {
		ch.Details["migration_version"], ch.Details["latest_migration"] = m.current, m.latest
		switch {
		case m.err != nil:
			ch.Status, ch.Next = Warn, m.next
			ch.Summary += fmt.Sprintf("; the migrations never ran (%v)", m.err)
			return ch
		case m.latest != "" && !sameVersion(m.current, m.latest):
			ch.Status, ch.Next = Fail, m.next
			ch.Summary += fmt.Sprintf(", migrations at %s of %s (behind)", m.current, m.latest)
			return ch
		case m.latest != "":
			ch.Summary += fmt.Sprintf(", migrations at %s of %s", m.current, m.latest)
		case m.current == "" || m.current == "<nil>":
			ch.Status, ch.Next = Warn, m.next
			ch.Summary += "; no migration applied"
			return ch
		default:
			ch.Summary += ", migrations at " + m.current
		}
	}
	if f.conns*10 >= f.maxConns*8 {
		ch.Status, ch.Next = Warn, "go tool mage env:status"
		ch.Summary += " (connections nearly exhausted)"
	}
	return ch
}

// sameVersion compares versions as numbers when both are, else as text.
func sameVersion(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return x == y
	}
	return a == b
}
