package tasks_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

// TestBenchmarkDbTargets measures db:backup and db:restore against what the
// old scripts did and against pg_dump's own floor, side by side on one
// database in one run, and reports ratios (this machine is shared and
// noisy: absolute times are not comparable between runs). It needs a few
// minutes and ~2 GB of disk, so it runs only with STEVEDORE_BENCH=1:
// `go tool mage bench`.
func TestBenchmarkDbTargets(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	scale := envInt("STEVEDORE_BENCH_SCALE", 30)
	rounds := envInt("STEVEDORE_BENCH_ROUNDS", 2)
	pg := pgtest.Start(t)
	c := containerName(t, pg)
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"STEVEDORE_DB_CONTAINER=" + c, "STEVEDORE_BACKUP_DIR=" + dir, "STEVEDORE_KEEP=0"}
	sh := func(script string) time.Duration {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(t.Context(), "bash", "-o", "pipefail", "-c", script)
		cmd.Env = append(os.Environ(), "C="+c, "U="+pg.User, "D="+pg.Database, "DIR="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s\n%s", script, out)
		return time.Since(start)
	}

	t.Logf("loading pgbench scale %d plus a table of random text and bytea", scale)
	sh(fmt.Sprintf(`docker exec $C pgbench -i -q -s %d -U $U $D`, scale))
	sh(`docker exec $C psql -q -U $U -d $D -c "CREATE TABLE noise AS SELECT g AS id,
		md5(random()::text) || md5(random()::text) || md5(random()::text) AS txt,
		decode(md5(random()::text) || md5(random()::text), 'hex') AS bin
		FROM generate_series(1, 800000) g"`)
	var size string
	sh(`mkdir -p $DIR`)
	out, err := exec.Command("docker", "exec", c, "psql", "-At", "-U", pg.User, "-d", pg.Database, "-c",
		"SELECT pg_size_pretty(pg_database_size(current_database()))").Output()
	require.NoError(t, err)
	size = strings.TrimSpace(string(out))

	times := map[string][]time.Duration{}
	var maxRSS int64
	ours := func(args ...string) time.Duration {
		t.Helper()
		cmd := target(t, env, args...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		require.NoError(t, err, "%s", out)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > maxRSS {
			maxRSS = ru.Maxrss // KiB on Linux
		}
		return took
	}
	for round := 0; round < rounds; round++ {
		times["floor: pg_dump to /dev/null in the container"] = append(times["floor: pg_dump to /dev/null in the container"],
			sh(`docker exec $C pg_dump -U $U -d $D -f /dev/null`))
		times["old: docker exec pg_dump | gzip > file"] = append(times["old: docker exec pg_dump | gzip > file"],
			sh(`docker exec $C pg_dump -U $U -d $D | gzip > $DIR/old.sql.gz.tmp`))
		times["db:backup"] = append(times["db:backup"], ours("db:backup", fmt.Sprintf("-name=bench_%d", round)))
	}
	oldSize := fileSize(t, filepath.Join(dir, "old.sql.gz.tmp"))
	ourSize := fileSize(t, filepath.Join(dir, "bench_0.sql.zst"))

	// Restore: the old way loads a plain dump with psql through docker exec
	// into an empty database; db:restore takes a safety backup, loads beside
	// the live database, checks every table's rows and swaps.
	sh(`docker exec $C pg_dump -U $U -d $D > $DIR/plain.sql.tmp`)
	for round := 0; round < rounds; round++ {
		sh(`docker exec $C psql -q -U $U -d postgres -c "DROP DATABASE IF EXISTS plain_restore" -c "CREATE DATABASE plain_restore"`)
		times["old: docker exec -i psql < dump.sql"] = append(times["old: docker exec -i psql < dump.sql"],
			sh(`docker exec -i $C psql -q -U $U -d plain_restore < $DIR/plain.sql.tmp > /dev/null`))
		times["db:verify (checksum, load, compare)"] = append(times["db:verify (checksum, load, compare)"], ours("db:verify", "-name=bench_0"))
		times["db:restore (safety backup, load, compare, swap)"] = append(times["db:restore (safety backup, load, compare, swap)"],
			ours("db:restore", "-name=bench_0", "-yes"))
	}

	best := func(k string) float64 {
		d := append([]time.Duration(nil), times[k]...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[0].Seconds()
	}
	keys := make([]string, 0, len(times))
	for k := range times {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var report strings.Builder
	fmt.Fprintf(&report, "database %s (pgbench scale %d + 800k rows of random text and bytea), best of %d rounds\n", size, scale, rounds)
	for _, k := range keys {
		fmt.Fprintf(&report, "  %-52s %6.2fs  %v\n", k, best(k), times[k])
	}
	floor, old, backup := best("floor: pg_dump to /dev/null in the container"), best("old: docker exec pg_dump | gzip > file"), best("db:backup")
	oldRestore, restore, verify := best("old: docker exec -i psql < dump.sql"), best("db:restore (safety backup, load, compare, swap)"), best("db:verify (checksum, load, compare)")
	fmt.Fprintf(&report, "db:backup is %.2fx faster than the old scripts (goal >= 3x)\n", old/backup)
	fmt.Fprintf(&report, "db:backup takes %.2fx the floor (goal <= 1.5x)\n", backup/floor)
	fmt.Fprintf(&report, "file: %s vs the old scripts' %s (%.2fx)\n", mb(ourSize), mb(oldSize), float64(ourSize)/float64(oldSize))
	fmt.Fprintf(&report, "db:verify takes %.2fx the old restore; db:restore (with its safety backup) %.2fx (goal <= 1x)\n", verify/oldRestore, restore/oldRestore)
	fmt.Fprintf(&report, "peak memory of the targets process: %.1f MB (goal < 100 MB)\n", float64(maxRSS)/1024)
	t.Log("\n" + report.String())
	if path := os.Getenv("STEVEDORE_BENCH_REPORT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(report.String()), 0o644))
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
	if os.Getenv("STEVEDORE_BENCH") != "1" {
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
	t.Log("\n" + report)
	if path := os.Getenv("STEVEDORE_BENCH_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		_, _ = f.WriteString(report)
	}
}
