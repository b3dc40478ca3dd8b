package pgbackup

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// Snapshot is a copy of the live database made on its own server: taken
// and rolled back in seconds whatever its size, but not a backup, since it
// lives on the same disk and dies with the server's volume.
type Snapshot struct {
	Name string    // the label it was given, or its time (20261124-101500) when none
	DB   string    // its database on the server
	At   time.Time // when it was taken (or, for a replaced state, replaced)
	Size int64     // bytes on the server
}

// Replaced reports a state a rollback replaced: what db:rollback -undo
// brings back, and never what a plain rollback goes back to.
func (s Snapshot) Replaced() bool { return s.Name == ReplacedLabel }

// ReplacedLabel names the state a rollback replaced.
const ReplacedLabel = "before-rollback"

// snapTag and the time (and label) after it mark a snapshot's database.
const (
	snapTag     = "__snap_"
	maxLabel    = 24
	snapRoom    = len(stampLayout) + 1 + maxLabel
	labelLayout = "20060102-150405"
)

var labelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidLabel checks a snapshot name a user gives: letters, digits, dots,
// dashes and underscores, at most 24 bytes, not a time stamp (those name the
// snapshots taken without one).
func ValidLabel(label string) error {
	switch {
	case len(label) > maxLabel:
		return fmt.Errorf("snapshot name %q is longer than %d characters", label, maxLabel)
	case !labelPattern.MatchString(label):
		return fmt.Errorf("snapshot name %q may hold only letters, digits, '.', '-' and '_', and starts with a letter or digit", label)
	}
	if label == ReplacedLabel {
		return fmt.Errorf("snapshot name %q is kept for the state a rollback replaces", label)
	}
	if _, err := time.Parse(labelLayout, label); err == nil {
		return fmt.Errorf("snapshot name %q is a time stamp, which names the snapshots taken without -name", label)
	}
	return nil
}

// SnapshotDB names the database of live's snapshot taken at at with label
// ("" for none): app__snap_20261124_101500_before-migrate, in UTC, so that
// names sort as times.
func SnapshotDB(live string, at time.Time, label string) string {
	name := tagPrefix(live, snapTag, snapRoom) + at.UTC().Format(stampLayout)
	if label != "" {
		name += "_" + label
	}
	return name
}

// SnapshotLike matches the names of live's snapshots, in a LIKE (the
// escape character is \).
func SnapshotLike(live string) string {
	return strings.ReplaceAll(tagPrefix(live, snapTag, snapRoom), "_", `\_`) + "%"
}

// snapshotOf tells whether database name is a snapshot of live, and which.
func snapshotOf(name, live string) (Snapshot, bool) {
	rest, ok := strings.CutPrefix(name, tagPrefix(live, snapTag, snapRoom))
	if !ok || len(rest) < len(stampLayout) {
		return Snapshot{}, false
	}
	at, err := time.ParseInLocation(stampLayout, rest[:len(stampLayout)], time.UTC)
	if err != nil {
		return Snapshot{}, false
	}
	s := Snapshot{DB: name, At: at, Name: at.Format(labelLayout)}
	switch label := rest[len(stampLayout):]; {
	case label == "":
	case label[0] == '_' && len(label) > 1:
		s.Name = label[1:]
	default:
		return Snapshot{}, false
	}
	return s, true
}

// snapshotsIn finds live's snapshots among dbs, newest first.
func snapshotsIn(live string, dbs []dbInfo) []Snapshot {
	var list []Snapshot
	for _, d := range dbs {
		if s, ok := snapshotOf(d.Name, live); ok {
			s.Size = d.Size
			list = append(list, s)
		}
	}
	slices.SortStableFunc(list, func(a, b Snapshot) int { return b.At.Compare(a.At) })
	return list
}

// DatabaseSize is the live database's size on its server, in bytes.
func DatabaseSize(ctx context.Context, db pgtarget.Database) (int64, error) {
	live := db.Credentials().Database
	out, err := db.Query(ctx, maintenanceDB(live), fmt.Sprintf(`SELECT pg_database_size(%s)`, pgtarget.QuoteLiteral(live)))
	if err != nil {
		return 0, fmt.Errorf("size of database %s: %w", live, err)
	}
	return strconv.ParseInt(strings.TrimSpace(out), 10, 64)
}

// Snapshots lists the snapshots of db's live database, newest first.
func Snapshots(ctx context.Context, db pgtarget.Database) ([]Snapshot, error) {
	view, err := look(ctx, db)
	if err != nil {
		return nil, err
	}
	return snapshotsIn(db.Credentials().Database, view.Databases), nil
}

// FindSnapshot picks from list (newest first) the snapshot a user named:
// the newest with that name (or that one database's name), or the newest
// that is not a replaced state when name is "". undo picks the newest
// replaced state instead.
func FindSnapshot(list []Snapshot, name string, undo bool) (Snapshot, bool) {
	for _, s := range list {
		switch {
		case undo && s.Replaced(), !undo && name == "" && !s.Replaced(), !undo && name != "" && (s.Name == name || s.DB == name):
			return s, true
		}
	}
	return Snapshot{}, false
}

// Taken is what taking a snapshot did.
type Taken struct {
	Snapshot
	Ended  int           // the application's sessions that were ended
	Paused time.Duration // how long new sessions waited for the copy
}

// snapshotAttempts bounds retries of a copy that a client reconnecting
// between the end of its session and the copy made fail.
const snapshotAttempts = 3

// TakeSnapshot copies the live database on its server into a snapshot
// named label ("" for none) at time at. A copy needs the database to
// itself: the application's sessions are ended (a stevedore run's are not:
// the copy then waits for it, and fails if it goes on), and new ones wait
// while the files are copied. CREATE DATABASE is atomic: a copy
// interrupted at any point leaves no snapshot, and the live database is
// never changed.
func TakeSnapshot(ctx context.Context, db pgtarget.Database, label string, at time.Time) (Taken, error) {
	live := db.Credentials().Database
	maint := maintenanceDB(live)
	// One query tells the server's version, and whether the name is taken.
	head, err := db.Query(ctx, maint, fmt.Sprintf(
		`SELECT current_setting('server_version_num')::int >= 150000, (SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE %s)`,
		pgtarget.QuoteLiteral(SnapshotLike(live))))
	if err != nil {
		return Taken{}, fmt.Errorf("snapshot of %s: %w", live, err)
	}
	fileCopy, existing, _ := strings.Cut(strings.TrimSpace(head), "\t")
	name := SnapshotDB(live, at, label)
	for slices.Contains(strings.Fields(existing), name) { // two within one second
		at = at.Add(time.Second)
		name = SnapshotDB(live, at, label)
	}
	create := copySQL(name, live, fileCopy == "t")
	script := pgtarget.Separately(
		fmt.Sprintf(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name NOT LIKE %s`,
			pgtarget.QuoteLiteral(live), pgtarget.QuoteLiteral(pgtarget.AppNameLike)),
		`SELECT clock_timestamp()`,
		create,
		fmt.Sprintf(`SELECT clock_timestamp(), pg_database_size(%s)`, pgtarget.QuoteLiteral(name)))
	var out string
	for attempt := 1; ; attempt++ {
		out, err = db.Query(ctx, maint, script)
		if err == nil || !inUse(err) || attempt == snapshotAttempts {
			break
		}
	}
	if err != nil {
		if inUse(err) {
			return Taken{}, &SnapshotBusyError{Database: live}
		}
		return Taken{}, fmt.Errorf("snapshot of %s: %w", live, err)
	}
	t := Taken{Snapshot: Snapshot{DB: name, At: at.UTC().Truncate(time.Second), Name: label}}
	if label == "" {
		t.Name = at.UTC().Format(labelLayout)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 3 {
		t.Ended, _ = strconv.Atoi(lines[0])
		began, _ := time.Parse(pgTimestamp, lines[1])
		endAndSize := strings.Split(lines[2], "\t")
		if ended, err := time.Parse(pgTimestamp, endAndSize[0]); err == nil && !began.IsZero() {
			t.Paused = ended.Sub(began)
		}
		if len(endAndSize) == 2 {
			t.Size, _ = strconv.ParseInt(endAndSize[1], 10, 64)
		}
	}
	return t, nil
}

// copySQL copies database from into a new database name on the server.
// WAL_LOG, the default since PostgreSQL 15, writes the whole database to
// the WAL; a file copy costs one checkpoint and the copy itself (and is
// the only way before 15, which has no STRATEGY).
func copySQL(name, from string, fileCopy bool) string {
	sql := fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", pgtarget.QuoteIdent(name), pgtarget.QuoteIdent(from))
	if fileCopy {
		sql += " STRATEGY FILE_COPY"
	}
	return sql
}

// pgTimestamp is how psql prints a timestamptz with the default DateStyle.
const pgTimestamp = "2006-01-02 15:04:05.999999-07"

// Rollback makes snapshot to the live database, by a rename: the same
// transaction as a restore's swap, so a crash leaves the old database or
// the snapshot under the live name, each whole. The state it replaces is
// kept as a snapshot (ReplacedLabel, named for at), so a rollback can be
// undone. The snapshot itself becomes the live database, unless keep: then
// a copy of it is made first (seconds per GB, while the application goes
// on; no session uses a snapshot) and renamed in, and the snapshot stays.
// among are the snapshots there are (Snapshots' answer, which the caller
// chose to from): the replaced state's name is not one of theirs.
func Rollback(ctx context.Context, db pgtarget.Database, to Snapshot, among []Snapshot, at time.Time, keep bool) (replaced Snapshot, err error) {
	live := db.Credentials().Database
	keptAs := SnapshotDB(live, at, ReplacedLabel)
	for slices.ContainsFunc(among, func(s Snapshot) bool { return s.DB == keptAs }) {
		at = at.Add(time.Second)
		keptAs = SnapshotDB(live, at, ReplacedLabel)
	}
	incoming := to.DB
	if keep {
		incoming = ScratchName(live, roleRollback)
		if err := copyOf(ctx, db, to.DB, incoming); err != nil {
			return Snapshot{}, err
		}
	}
	// Not cancellable once started: see SwapIn.
	if _, err := swap(context.WithoutCancel(ctx), db, incoming, keptAs); err != nil {
		if keep {
			_ = dropDatabase(context.WithoutCancel(ctx), db, incoming)
		}
		return Snapshot{}, err
	}
	return Snapshot{Name: ReplacedLabel, DB: keptAs, At: at.UTC().Truncate(time.Second)}, nil
}

// copyOf copies snapshot from into the scratch database name (dropping
// what an interrupted copy left there first).
func copyOf(ctx context.Context, db pgtarget.Database, from, name string) error {
	maint := maintenanceDB(db.Credentials().Database)
	if err := dropDatabase(ctx, db, name); err != nil {
		return err
	}
	version, err := db.Query(ctx, maint, `SELECT current_setting('server_version_num')::int >= 150000`)
	if err == nil {
		_, err = db.Query(ctx, maint, copySQL(name, from, strings.TrimSpace(version) == "t"))
	}
	if err != nil {
		_ = dropDatabase(context.WithoutCancel(ctx), db, name)
		return fmt.Errorf("copy snapshot %s: %w", from, err)
	}
	return nil
}

// DropSnapshots drops snapshots.
func DropSnapshots(ctx context.Context, db pgtarget.Database, list []Snapshot) error {
	for _, s := range list {
		if err := dropDatabase(ctx, db, s.DB); err != nil {
			return err
		}
	}
	return nil
}
