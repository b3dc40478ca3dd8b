//go:build linux

package tasks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealClusterGigabyteThroughTheExecStream backs up a 1 GB database
// through the real kubectl exec stream and reports its throughput against
// `kubectl exec pg_dump > file` (one pair in the suite; go tool mage bench
// times STEVEDORE_BENCH_ROUNDS pairs, default 3);
// then deletes the pod in the middle of a second backup, which must leave
// nothing db:list or db:restore would take.
func TestRealClusterGigabyteThroughTheExecStream(t *testing.T) {
	f := newKubeFixture(t, "gigabyte-password")
	began := time.Now()
	// 4M rows of 256 random hex digits: a 1.06 GB dump, which zstd halves.
	f.psql(t, `CREATE TABLE item (id int PRIMARY KEY, payload text);
		INSERT INTO item SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)
			|| md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)
		FROM generate_series(1, 4000000) g`)
	t.Logf("1 GB of rows made in the pod in %s", time.Since(began).Round(time.Second))

	plain := filepath.Join(t.TempDir(), "plain.sql")
	var ratios []float64
	rounds := 1 // in the suite; the bench target times 3
	if benchmarking() {
		rounds = envInt("STEVEDORE_BENCH_ROUNDS", 3)
	}
	for round := range rounds {
		baseline, size := kubectlDump(t, f, plain)
		require.Greater(t, size, int64(1e9), "a dump of at least 1 GB")
		r := runTimed(t, f.env, f.args("db:backup", "-name=gigabyte"+strconv.Itoa(round))...)
		require.Equal(t, 0, r.Code, r.Out)
		ratios = append(ratios, baseline.Seconds()/r.Took.Seconds())
		t.Logf("round %d: %.2f GB dump: kubectl exec pg_dump > file %s (%.0f MB/s), db:backup %s (%.0f MB/s): %.2fx",
			round, float64(size)/1e9, baseline.Round(100*time.Millisecond), float64(size)/1e6/baseline.Seconds(),
			r.Took.Round(100*time.Millisecond), float64(size)/1e6/r.Took.Seconds(), ratios[round])
	}
	t.Logf("db:backup through the exec stream: median %.2fx the throughput of kubectl exec pg_dump > file", median(ratios))
	l := listing(t, f.run(t, "db:list", "-json"))
	require.Len(t, l.Backups, len(ratios))
	assert.EqualValues(t, 4000000, l.Backups[0].Rows)
	kept := backupNames(l)

	// The pod deleted in the middle of a backup, as a node drain does.
	cmd := target(t, f.env, f.args("db:backup", "-name=cut")...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return partialBytes(t, f.dir) > 1<<20 }, time.Minute, 20*time.Millisecond, "the backup is under way")
	f.c.Kubectl(t, "-n", "shop", "delete", "pod", "postgres-0", "--wait=false")
	err := cmd.Wait()
	r := run{Out: out.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.Code = exit.ExitCode()
	}
	assert.Equal(t, 1, r.Code, r.Out)
	line := failureLine(t, r)
	t.Logf("pod deleted mid-backup: %s", line)
	assert.NotContains(t, line, "Command was", "the reason, not the statement it stopped")
	assert.Equal(t, kept, backupNames(listing(t, runTarget(t, f.env, "db:list", "-json"))), "no backup listed for the cut one")
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "cut") || strings.Contains(e.Name(), ".partial-"), "left %s", e.Name())
	}
}

// kubectlDump is the baseline: the pod's pg_dump straight into a file.
func kubectlDump(t *testing.T, f *kubeFixture, file string) (took time.Duration, size int64) {
	t.Helper()
	out, err := os.Create(file)
	require.NoError(t, err)
	defer out.Close()
	cmd := exec.CommandContext(t.Context(), f.c.KubectlPath(), "--context", f.c.Context(), "-n", "shop",
		"exec", "postgres-0", "--", "pg_dump", "-U", "postgres", "postgres")
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	start := time.Now()
	require.NoError(t, cmd.Run())
	took = time.Since(start)
	st, err := out.Stat()
	require.NoError(t, err)
	return took, st.Size()
}

// partialBytes is the size of the backup being written in dir, if any.
func partialBytes(t *testing.T, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && strings.Contains(e.Name(), ".partial-") {
			n += info.Size()
		}
	}
	return n
}

// TestRealClusterPodRestartDuringRestore: PostgreSQL's container restarts
// in the middle of a restore (an immediate shutdown, as a crash or an OOM
// kill causes); the database is old or new, and whole, once it is back,
// and the next run clears what the restore left.
func TestRealClusterPodRestartDuringRestore(t *testing.T) {
	f := newKubeFixture(t, "restart-password")
	f.psql(t, `CREATE TABLE item (id int PRIMARY KEY, payload text);
		INSERT INTO item SELECT g, md5(g::text) || repeat('x', 200) FROM generate_series(1, 400000) g;
		CREATE INDEX item_payload ON item (payload)`)
	backup := f.state(t)
	f.run(t, "db:backup", "-name=target")
	f.psql(t, `DELETE FROM item WHERE id % 3 = 0`)

	for _, step := range []string{"loading data: ", "building indexes and constraints…"} {
		t.Run(step, func(t *testing.T) {
			old := f.state(t)
			restarts := f.restarts(t)
			s := untilLine(t, f.env, step, f.args("db:restore", "-name=target", "-yes")...)
			// The shell may die with the container before it answers: the
			// restart count below says whether the restart happened.
			_, _ = f.c.Try(t.Context(), "-n", "shop", "exec", "postgres-0", "--", "sh", "-c", "kill -QUIT 1")
			r := s.wait(t)
			assert.Equal(t, 1, r.Code, r.Out)
			// What broke first says it: psql in the pod losing the server,
			// or the container gone under kubectl exec.
			line := failureLine(t, r)
			assert.Regexp(t, `psql lost its connection to the server|pod shop/postgres-0 \(container postgres\) restarted while stevedore was using it`, line)
			assert.Contains(t, line, "the database was not changed")
			t.Logf("restarted while %q: %s", step, line)

			got := f.stateOnceBack(t)
			assert.Greater(t, f.restarts(t), restarts, "the container restarted")
			assert.Contains(t, []string{old, backup}, got, "old or new, whole")
			r = f.run(t, "-v", "db:list")
			assert.Empty(t, slices.DeleteFunc(strings.Fields(f.psql(t, `SELECT datname FROM pg_database`)),
				func(n string) bool { return !strings.HasPrefix(n, "stevedore_") }), "the next run clears the scratch database:\n%s", r.Out)
		})
	}
	f.run(t, "db:restore", "-name=target", "-yes")
	assert.Equal(t, backup, f.state(t), "then a restore goes through")
}

// restarts is how many times the PostgreSQL container has restarted.
func (f *kubeFixture) restarts(t *testing.T) int {
	t.Helper()
	n, err := strconv.Atoi(f.c.Kubectl(t, "-n", "shop", "get", "pod", "postgres-0", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"))
	require.NoError(t, err)
	return n
}

// stateOnceBack waits for PostgreSQL to answer again, and for its pod to
// be ready (the targets use only a ready pod), then fingerprints item.
func (f *kubeFixture) stateOnceBack(t *testing.T) string {
	t.Helper()
	var state string
	require.Eventually(t, func() bool {
		out, err := f.c.Try(t.Context(), "-n", "shop", "exec", "postgres-0", "--", "psql", "-U", "postgres", "-Atc", itemState)
		state = strings.TrimSpace(out)
		return err == nil
	}, 2*time.Minute, 250*time.Millisecond, "PostgreSQL is back")
	f.c.Kubectl(t, "-n", "shop", "wait", "--for=condition=Ready", "pod/postgres-0", "--timeout=2m")
	return state
}
