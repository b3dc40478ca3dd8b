package tasks_test

import (
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// benchmarking reports whether this run is the bench (STEVEDORE_BENCH=1):
// its measurements take minutes and gigabytes, and its targets binary is
// built without the race detector.
func benchmarking() bool { return os.Getenv("STEVEDORE_BENCH") == "1" }

// TestBenchmarkDbTargets measures db:backup and db:restore against what the
// old scripts did and against pg_dump's and psql's own floors, side by side
// on one database in one run, and reports ratios (this machine is shared and
// noisy: absolute times are not comparable between runs). It needs a few
// minutes and ~3 GB of disk, so it runs only with STEVEDORE_BENCH=1:
// `go tool mage bench`.
func TestBenchmarkDbTargets(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	scale := envInt("STEVEDORE_BENCH_SCALE", 30)
	rounds := envInt("STEVEDORE_BENCH_ROUNDS", 2)
	b := newBench(t)
	t.Logf("loading pgbench scale %d plus a table of random text and bytea", scale)
	b.sh(fmt.Sprintf(`docker exec $C pgbench -i -q -s %d -U $U $D`, scale))
	b.sh(`docker exec $C psql -q -U $U -d $D -c "CREATE TABLE noise AS SELECT g AS id,
		md5(random()::text) || md5(random()::text) || md5(random()::text) AS txt,
		decode(md5(random()::text) || md5(random()::text), 'hex') AS bin
		FROM generate_series(1, 800000) g"`)

	for round := 0; round < rounds; round++ {
		b.time(floorDump, func() { b.sh(`docker exec $C pg_dump -U $U -d $D -f /dev/null`) })
		b.time(oldBackup, func() { b.sh(`docker exec $C pg_dump -U $U -d $D | gzip > $DIR/old.sql.gz.tmp`) })
		b.time(ourBackup, func() { b.ours("db:backup", fmt.Sprintf("-name=bench_%d", round)) })
	}
	oldSize := fileSize(t, filepath.Join(b.dir, "old.sql.gz.tmp"))
	ourSize := fileSize(t, filepath.Join(b.dir, "bench_0.sql.zst"))

	// Restore: psql loading the plain dump through docker exec into an empty
	// database is the floor; db:restore checksums, loads beside the live
	// database, checks every table's rows and swaps, keeping the live one.
	b.sh(`docker exec $C pg_dump -U $U -d $D > $DIR/plain.sql.tmp`)
	for round := 0; round < rounds; round++ {
		b.psqlLoad()
		b.time(ourVerify, func() { b.ours("db:verify", "-name=bench_0") })
		b.time(ourRestore, func() { b.ours("db:restore", "-name=bench_0", "-yes") })
		b.time(ourUndo, func() { b.ours("db:restore", "-undo", "-yes") })
	}

	var report strings.Builder
	fmt.Fprintf(&report, "database %s (pgbench scale %d + 800k rows of random text and bytea), best of %d rounds\n", b.size(), scale, rounds)
	b.table(&report)
	fmt.Fprintf(&report, "db:backup is %.2fx faster than the old scripts (goal >= 3x)\n", b.best(oldBackup)/b.best(ourBackup))
	fmt.Fprintf(&report, "db:backup takes %.2fx pg_dump to /dev/null in the container (goal <= 1.5x)\n", b.best(ourBackup)/b.best(floorDump))
	fmt.Fprintf(&report, "file: %s vs the old scripts' %s (%.2fx)\n", mb(ourSize), mb(oldSize), float64(ourSize)/float64(oldSize))
	fmt.Fprintf(&report, "db:restore takes %.2fx docker exec -i psql into an empty database (goal <= 1.25x); db:verify %.2fx\n",
		b.best(ourRestore)/b.best(floorLoad), b.best(ourVerify)/b.best(floorLoad))
	fmt.Fprintf(&report, "db:restore -undo: %.2fs for the whole run (goal: under 1 s)\n", b.best(ourUndo))
	fmt.Fprintf(&report, "peak memory of the targets process: %.1f MB (goal < 100 MB)\n", float64(b.maxRSS)/1024)
	b.report(report.String())
}

// TestBenchmarkLargeDatabase runs backup, verify and restore on a database
// of real size: 12 million rows of md5 text (about 4.5 GB) with four
// indexes and a primary key, whose reload spends over a minute building
// indexes after the last row. Each is timed against pg_dump's and psql's own work.
// About 15 minutes and 20 GB of disk; STEVEDORE_BENCH=1 runs it.
func TestBenchmarkLargeDatabase(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	rows := envInt("STEVEDORE_BENCH_LARGE_ROWS", 12_000_000)
	b := newBench(t)
	start := time.Now()
	b.sh(fmt.Sprintf(`docker exec $C psql -q -U $U -d $D -c "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS a,
		md5((g * 2)::text) AS b, md5((g * 3)::text) AS c FROM generate_series(1, %d) g" \
		-c "ALTER TABLE big ADD PRIMARY KEY (id)" -c "CREATE INDEX ON big (a)" -c "CREATE INDEX ON big (b)" -c "CREATE INDEX ON big (c)" \
		-c "CREATE INDEX ON big (c, b)"`, rows))
	t.Logf("made a %s database in %s", b.size(), time.Since(start).Round(time.Second))

	for round := 0; round < envInt("STEVEDORE_BENCH_ROUNDS", 2); round++ {
		b.time(floorDump, func() { b.sh(`docker exec $C pg_dump -U $U -d $D -f /dev/null`) })
		b.time(ourBackup, func() { b.ours("db:backup", fmt.Sprintf("-name=large_%d", round)) })
	}
	b.sh(`docker exec $C pg_dump -U $U -d $D > $DIR/plain.sql.tmp`)
	b.psqlLoad()
	b.sh(`docker exec $C psql -q -U $U -d postgres -c "DROP DATABASE plain_restore"`)
	b.time(ourVerify, func() { b.ours("-v", "db:verify", "-name=large_0") })
	b.time(ourRestore, func() { b.ours("-v", "db:restore", "-name=large_0", "-yes") })
	b.time(ourUndo, func() { b.ours("db:restore", "-undo", "-yes") })

	var report strings.Builder
	fmt.Fprintf(&report, "large database %s (%d rows of md5 text, 4 indexes and a primary key)\n", b.size(), rows)
	b.table(&report)
	fmt.Fprintf(&report, "db:backup %.2fx pg_dump to /dev/null; db:verify %.2fx and db:restore %.2fx docker exec -i psql into an empty database\n",
		b.best(ourBackup)/b.best(floorDump), b.best(ourVerify)/b.best(floorLoad), b.best(ourRestore)/b.best(floorLoad))
	fmt.Fprintf(&report, "db:restore -undo %.2fs; peak memory of the targets process %.1f MB\n", b.best(ourUndo), float64(b.maxRSS)/1024)
	b.report(report.String())
}

// What a benchmark times.
const (
	floorDump  = "floor: pg_dump to /dev/null in the container"
	oldBackup  = "old: docker exec pg_dump | gzip > file"
	ourBackup  = "db:backup"
	floorLoad  = "floor: docker exec -i psql < dump.sql into an empty database"
	ourVerify  = "db:verify (load beside, checksum, compare)"
	ourRestore = "db:restore (load beside, checksum, compare, swap)"
	ourUndo    = "db:restore -undo"
)

// bench is one benchmark's database, backup folder and timings.
type bench struct {
	t      *testing.T
	pg     *pgtest.Postgres
	c, dir string
	env    []string
	times  map[string][]time.Duration
	maxRSS int64 // KiB
}

func newBench(t *testing.T) *bench {
	pg := pgtest.Start(t)
	b := &bench{t: t, pg: pg, c: containerName(t, pg), dir: filepath.Join(t.TempDir(), "backups"), times: map[string][]time.Duration{}}
	b.env = []string{"STEVEDORE_DB_CONTAINER=" + b.c, "STEVEDORE_BACKUP_DIR=" + b.dir, "STEVEDORE_KEEP=0"}
	b.sh(`mkdir -p $DIR`)
	return b
}

func (b *bench) sh(script string) {
	b.t.Helper()
	cmd := exec.CommandContext(b.t.Context(), "bash", "-o", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "C="+b.c, "U="+b.pg.User, "D="+b.pg.Database, "DIR="+b.dir)
	out, err := cmd.CombinedOutput()
	require.NoError(b.t, err, "%s\n%s", script, out)
}

// psqlLoad is what the old scripts' restore did, into an empty database
// made first (not timed).
func (b *bench) psqlLoad() {
	b.sh(`docker exec $C psql -q -U $U -d postgres -c "DROP DATABASE IF EXISTS plain_restore" -c "CREATE DATABASE plain_restore"`)
	b.time(floorLoad, func() { b.sh(`docker exec -i $C psql -q -U $U -d plain_restore < $DIR/plain.sql.tmp > /dev/null`) })
}

// time runs work and records how long it took under name.
func (b *bench) time(name string, work func()) {
	start := time.Now()
	work()
	b.times[name] = append(b.times[name], time.Since(start))
}

// ours runs the compiled targets and keeps their peak memory.
func (b *bench) ours(args ...string) {
	b.t.Helper()
	b.oursWith(b.env, args...)
}

// oursWith runs the compiled targets with env rather than the bench's own.
func (b *bench) oursWith(env []string, args ...string) {
	b.t.Helper()
	cmd := target(b.t, env, args...)
	out, err := cmd.CombinedOutput()
	require.NoError(b.t, err, "%s", out)
	if strings.Contains(strings.Join(args, " "), "-v") {
		b.t.Logf("%s:\n%s", strings.Join(args, " "), out)
	}
	b.maxRSS = max(b.maxRSS, peakRSS(cmd.ProcessState))
}

func (b *bench) best(name string) float64 {
	d := slices.Clone(b.times[name])
	require.NotEmpty(b.t, d, name)
	slices.Sort(d)
	return d[0].Seconds()
}

func (b *bench) median(name string) float64 {
	d := slices.Clone(b.times[name])
	require.NotEmpty(b.t, d, name)
	slices.Sort(d)
	return d[len(d)/2].Seconds()
}

func (b *bench) size() string {
	out, err := exec.Command("docker", "exec", b.c, "psql", "-At", "-U", b.pg.User, "-d", b.pg.Database, "-c",
		"SELECT pg_size_pretty(pg_database_size(current_database()))").Output()
	require.NoError(b.t, err)
	return strings.TrimSpace(string(out))
}

func (b *bench) table(w io.Writer) {
	for _, k := range slices.Sorted(maps.Keys(b.times)) {
		fmt.Fprintf(w, "  %-62s %7.2fs  %v\n", k, b.best(k), b.times[k])
	}
}

func (b *bench) report(text string) { benchReport(b.t, text) }

// benchReport logs a benchmark's report and appends it to
// STEVEDORE_BENCH_REPORT, when set.
func benchReport(t *testing.T, text string) {
	t.Log("\n" + text)
	if path := os.Getenv("STEVEDORE_BENCH_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		_, _ = f.WriteString(text)
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	info, err := os.Stat(p)
	require.NoError(t, err)
	return info.Size()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func envInt(k string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(k), &v); err == nil && v > 0 {
		return v
	}
	return def
}

// TestBenchmarkEnvUp compares env:up with `docker compose up -d --wait` on
// the same stack, from stopped (containers removed, volume and images kept),
// and env:up on a healthy stack with `docker compose ps`; side by side,
// alternating, reported as ratios. Run with STEVEDORE_BENCH=1.
func TestBenchmarkEnvUp(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	rounds := envInt("STEVEDORE_BENCH_ROUNDS", 3)
	f := newStack(t, nil)
	docker := func(args ...string) time.Duration {
		t.Helper()
		start := time.Now()
		out, err := f.compose(t.Context(), args...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return time.Since(start)
	}
	f.up(t) // first start: creates the volume and initialises the database
	var ours, theirs, fast, ps []time.Duration
	for i := 0; i < rounds; i++ {
		docker("down")
		theirs = append(theirs, docker("up", "-d", "--wait"))
		docker("down")
		ours = append(ours, f.up(t).Took)
		fast = append(fast, f.up(t).Took)
		ps = append(ps, docker("ps"))
	}
	best := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[0].Seconds()
	}
	report := fmt.Sprintf("env:up from stopped %.2fs vs docker compose up -d --wait %.2fs: %.2fx (goal <= 1.2x)\n"+
		"env:up on a healthy stack %.3fs vs docker compose ps %.3fs: %.2fx (goal <= 1x, under 1 s)\n",
		best(ours), best(theirs), best(ours)/best(theirs), best(fast), best(ps), best(fast)/best(ps))
	benchReport(t, report)
}

// TestBenchmarkDataPaths times db:backup through each data path against
// the yardstick of an engine that does not share our folders, `docker exec
// pg_dump > file` (the Engine API's exec stream, as the CLI uses it): the
// exec stream must be at least as fast; the FIFO is the local engine's
// fast path.
func TestBenchmarkDataPaths(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	b := newBench(t)
	b.sh(fmt.Sprintf(`docker exec $C psql -q -U $U -d $D -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS a,
		md5((g * 2)::text) AS b FROM generate_series(1, %d) g"`, envInt("STEVEDORE_BENCH_PATH_ROWS", 3_000_000)))
	const (
		execDump   = "docker exec pg_dump > file (yardstick)"
		fifoBackup = "db:backup through the FIFO"
		execBack   = "db:backup through the exec stream"
	)
	stream := append(append([]string(nil), b.env...), pgtarget.DataPathEnv+"=stream")
	for round := 0; round < envInt("STEVEDORE_BENCH_ROUNDS", 2); round++ {
		b.time(execDump, func() { b.sh(`docker exec $C pg_dump -U $U -d $D > $DIR/exec.sql.tmp`) })
		b.time(fifoBackup, func() { b.ours("db:backup", fmt.Sprintf("-name=fifo_%d", round)) })
		b.time(execBack, func() { b.oursWith(stream, "db:backup", fmt.Sprintf("-name=attach_%d", round)) })
	}
	var report strings.Builder
	fmt.Fprintf(&report, "database %s, plain dump %s\n", b.size(), mb(fileSize(t, filepath.Join(b.dir, "exec.sql.tmp"))))
	b.table(&report)
	fmt.Fprintf(&report, "db:backup through the exec stream takes %.2fx docker exec pg_dump > file (goal <= 1x); through the FIFO %.2fx\n",
		b.best(execBack)/b.best(execDump), b.best(fifoBackup)/b.best(execDump))
	b.report(report.String())
}

// TestBenchmarkSnapshots times db:snapshot and db:rollback on a database
// of real size (10 million rows of md5 text with three indexes and a
// primary key, 3.2 GB) against db:restore of the same data. Goal: each
// at most 5 s and at most 0.1x db:restore. STEVEDORE_BENCH=1 runs it.
func TestBenchmarkSnapshots(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	rows := envInt("STEVEDORE_BENCH_SNAPSHOT_ROWS", 10_000_000)
	b := newBench(t)
	b.sh(fmt.Sprintf(`docker exec $C psql -q -U $U -d $D -c "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS a,
		md5((g * 2)::text) AS b, md5((g * 3)::text) AS c FROM generate_series(1, %d) g" \
		-c "ALTER TABLE big ADD PRIMARY KEY (id)" -c "CREATE INDEX ON big (a)" -c "CREATE INDEX ON big (b)" -c "CREATE INDEX ON big (c)"`, rows))
	const (
		ourSnapshot = "db:snapshot"
		ourRollback = "db:rollback"
	)
	b.ours("db:backup", "-name=base")
	b.time(ourRestore, func() { b.ours("db:restore", "-name=base", "-yes") })
	b.ours("db:prune", "-keep=1") // drops the database the restore kept: room for the snapshots
	for round := 0; round < envInt("STEVEDORE_BENCH_ROUNDS", 2); round++ {
		b.time(ourSnapshot, func() { b.ours("db:snapshot", fmt.Sprintf("-name=round%d", round)) })
		b.time(ourRollback, func() { b.ours("db:rollback", fmt.Sprintf("-to=round%d", round)) })
		b.ours("db:prune", "-keep=0") // the replaced state: room for the next round
	}
	var report strings.Builder
	fmt.Fprintf(&report, "snapshots of a %s database (%d rows of md5 text, 3 indexes and a primary key)\n", b.size(), rows)
	b.table(&report)
	fmt.Fprintf(&report, "db:snapshot %.2fs = %.3fx db:restore; db:rollback %.2fs = %.3fx db:restore (goal: each <= 5 s and <= 0.1x)\n",
		b.best(ourSnapshot), b.best(ourSnapshot)/b.best(ourRestore), b.best(ourRollback), b.best(ourRollback)/b.best(ourRestore))
	b.report(report.String())
}

// TestBenchmarkNoOpMigration times db:migrate on the bundled stack when
// there is nothing to migrate, against the migration command run by hand
// (docker exec) plus db:snapshot. Goal: at most 1 s more.
func TestBenchmarkNoOpMigration(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	f := newStack(t, nil)
	f.up(t)
	var migrate, byHand, snapshot []time.Duration
	for range envInt("STEVEDORE_BENCH_ROUNDS", 3) {
		start := time.Now()
		out, err := f.compose(t.Context(), "exec", "-T", "api", "/api", "-migrate=up").CombinedOutput()
		require.NoError(t, err, "%s", out)
		byHand = append(byHand, time.Since(start))
		snapshot = append(snapshot, runTimed(t, f.env, "db:snapshot").Took)
		migrate = append(migrate, runTimed(t, f.env, "db:migrate").Took)
	}
	best := func(d []time.Duration) time.Duration { return slices.Min(d) }
	report := fmt.Sprintf("db:migrate with nothing to migrate %.2fs; the command by hand %.2fs + db:snapshot %.2fs: %.2fs beyond them (goal <= 1 s)\n",
		best(migrate).Seconds(), best(byHand).Seconds(), best(snapshot).Seconds(), (best(migrate) - best(byHand) - best(snapshot)).Seconds())
	benchReport(t, report)
}
