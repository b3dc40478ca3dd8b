//go:build unix

package tasks_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/minioserver"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// TestBenchmarkOffsite measures db:push and db:pull of a 650 MB backup
// against a plain minio-go FPutObject and FGetObject of the same file to
// the same MinIO, side by side in each round, which goes first alternating
// (the goal: at least 0.9x their throughput, as the median of the rounds'
// ratios). The backup is random bytes, as incompressible as a
// compressed dump. STEVEDORE_BENCH=1 runs it.
func TestBenchmarkOffsite(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	srv := minioserver.Start(t)
	bucket := srv.Bucket(t)
	client := srv.Client(t)
	b := &bench{t: t, dir: filepath.Join(t.TempDir(), "backups"), times: map[string][]time.Duration{}}
	st, err := store.Open(b.dir)
	require.NoError(t, err)
	size := int64(envInt("STEVEDORE_BENCH_PUSH_MB", 650)) << 20
	rec := randomBackup(t, st, "big", size)
	b.env = []string{"STEVEDORE_BACKUP_DIR=" + b.dir, "STEVEDORE_OFFSITE_URL=s3://" + bucket + "/shop", "STEVEDORE_S3_ENDPOINT=" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "STEVEDORE_KEEP=0"}
	const (
		plainPut = "minio-go FPutObject"
		plainGet = "minio-go FGetObject"
		durable  = "minio-go FGetObject, then fsync of its file"
		ourPush  = "db:push"
		ourPull  = "db:pull"
		fixed    = "db:push of a backup already pushed (process, settings, listing)"
	)
	ctx := t.Context()
	file := st.DataPath(rec)
	pulled := filepath.Join(t.TempDir(), "pulled")
	put := func() {
		_, err := client.FPutObject(ctx, bucket, "plain/big", file, minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: 16 << 20})
		require.NoError(t, err)
	}
	// db:pull flushes the file to disk before it says done (a backup that
	// a crash can take back is no backup); FGetObject leaves that to the
	// kernel. The same download flushed the same way is timed with it.
	get := func() {
		start := time.Now()
		require.NoError(t, client.FGetObject(ctx, bucket, "plain/big", pulled, minio.GetObjectOptions{}))
		b.times[plainGet] = append(b.times[plainGet], time.Since(start))
		f, err := os.Open(pulled)
		require.NoError(t, err)
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
	}
	push := func() { b.ours("db:push", "-name=big") }
	newMachine := filepath.Join(t.TempDir(), "backups")
	pull := func() {
		b.oursWith(append(append([]string(nil), b.env...), "STEVEDORE_BACKUP_DIR="+newMachine), "db:pull", "-name=big")
	}
	// This machine's disk slows down as gigabytes are written, so each
	// round times ours and plain minio-go back to back (which goes first
	// alternates), each after a flush of what came before, and the ratio
	// is taken within the round. A pull first deletes its own earlier file:
	// on this VM, memory the guest freed goes back to the host within
	// seconds, and writing the page cache into memory the host must hand
	// out again costs more than the disk; each download thus reuses what
	// it freed, as it would on a machine of its own (FGetObject at its
	// best: db:pull writes past the page cache).
	var pushRatios, durableRatios []float64
	type op struct {
		name   string
		before func()
		run    func()
	}
	pair := func(ratios *[]float64, plain, ours op, oursFirst bool) {
		order := []op{plain, ours}
		if oursFirst {
			order[0], order[1] = order[1], order[0]
		}
		for _, o := range order {
			o.before()
			syscall.Sync()
			b.time(o.name, o.run)
		}
		n := len(b.times[ours.name]) - 1
		*ratios = append(*ratios, b.times[plain.name][n].Seconds()/b.times[ours.name][n].Seconds())
	}
	// Pushes first, then pulls: a server still settling a 650 MB upload
	// would slow whichever pull came next.
	rounds := envInt("STEVEDORE_BENCH_ROUNDS", 6)
	removeObjects := func(keys ...string) func() {
		return func() {
			for _, key := range keys {
				require.NoError(t, client.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}))
			}
		}
	}
	for round := 0; round < rounds; round++ {
		pair(&pushRatios, op{plainPut, removeObjects("plain/big"), put}, op{ourPush, removeObjects("shop/big.json", "shop/big.sql.zst"), push}, round%2 == 1)
	}
	removeFile := func(path string) func() { return func() { require.NoError(t, os.RemoveAll(path)) } }
	for round := 0; round < rounds; round++ {
		pair(&durableRatios, op{durable, removeFile(pulled), get}, op{ourPull, removeFile(newMachine), pull}, round%2 == 1)
	}
	pullRatios := make([]float64, len(durableRatios))
	for i := range pullRatios {
		pullRatios[i] = b.times[plainGet][i].Seconds() / b.times[ourPull][i].Seconds()
	}
	b.time(fixed, func() { b.ours("db:push", "-name=big") }) // already there: the target's own cost
	var report strings.Builder
	fmt.Fprintf(&report, "push and pull of a %d MB backup to MinIO on 127.0.0.1, %d rounds\n", size>>20, len(pushRatios))
	b.table(&report)
	fmt.Fprintf(&report, "db:push has %.2fx the throughput of FPutObject, median of the rounds' ratios %.2f (goal >= 0.9x)\n", median(pushRatios), pushRatios)
	fmt.Fprintf(&report, "db:pull has %.2fx the throughput of FGetObject, median of the rounds' ratios %.2f (goal >= 0.9x)\n", median(pullRatios), pullRatios)
	fmt.Fprintf(&report, "db:pull has %.2fx the throughput of FGetObject then fsync, median of the rounds' ratios %.2f (both on disk when done)\n", median(durableRatios), durableRatios)
	b.report(report.String())
}

// TestBenchmarkEncryption measures db:backup encrypted to an age recipient
// against db:backup unencrypted, alternating on one database (the goal:
// encryption adds at most 15%). STEVEDORE_BENCH=1 runs it.
func TestBenchmarkEncryption(t *testing.T) {
	if !benchmarking() {
		t.Skip("benchmark: run with STEVEDORE_BENCH=1 (go tool mage bench)")
	}
	b := newBench(t)
	scale := envInt("STEVEDORE_BENCH_SCALE", 30)
	b.sh(fmt.Sprintf(`docker exec $C pgbench -i -q -s %d -U $U $D`, scale))
	b.sh(`docker exec $C psql -q -U $U -d $D -c "CREATE TABLE noise AS SELECT g AS id,
		md5(random()::text) || md5(random()::text) AS txt, decode(md5(random()::text), 'hex') AS bin
		FROM generate_series(1, 800000) g"`)
	sealed := append(append([]string(nil), b.env...), "STEVEDORE_AGE_RECIPIENTS="+newAgeKey(t).public)
	const plain, encrypted = "db:backup", "db:backup encrypted to an age recipient"
	for round := 0; round < envInt("STEVEDORE_BENCH_ROUNDS", 3); round++ {
		b.time(plain, func() { b.ours("db:backup", fmt.Sprintf("-name=plain_%d", round)) })
		b.time(encrypted, func() { b.oursWith(sealed, "db:backup", fmt.Sprintf("-name=sealed_%d", round)) })
	}
	var report strings.Builder
	fmt.Fprintf(&report, "database %s (pgbench scale %d + 800k rows of random text and bytea), best of %d rounds\n", b.size(), scale, len(b.times[plain]))
	b.table(&report)
	fmt.Fprintf(&report, "encryption adds %+.1f%% to db:backup (goal <= 15%%)\n", (b.best(encrypted)/b.best(plain)-1)*100)
	b.report(report.String())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// randomBackup writes a backup of size random bytes into st with its record.
func randomBackup(t *testing.T, st *store.Store, name string, size int64) *store.Record {
	t.Helper()
	rec := &store.Record{Version: store.RecordVersion, Name: name, File: store.DataFile(name, false), Format: store.FormatPlainZstd, CreatedAt: time.Now().UTC()}
	f, err := os.OpenFile(st.DataPath(rec), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	require.NoError(t, err)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rand.Reader, size))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	rec.Size, rec.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	require.NoError(t, st.WriteRecord(rec))
	return rec
}
