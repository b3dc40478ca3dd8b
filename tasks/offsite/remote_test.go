package offsite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/minioserver"
	"github.com/stevedore-dev/stevedore/tasks/offsite"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// fakeBackup writes a backup into st as db:backup would leave it: random
// bytes (offsite moves bytes, whatever they hold) and a record whose
// checksum and size are theirs.
func fakeBackup(t *testing.T, st *store.Store, name string, size int, at time.Time) store.Entry {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	rec := &store.Record{Version: store.RecordVersion, Name: name, File: store.DataFile(name, false), Format: store.FormatPlainZstd,
		CreatedAt: at.UTC(), Size: int64(size), SHA256: hex.EncodeToString(sum[:])}
	require.NoError(t, store.WriteFileAtomic(st.DataPath(rec), data))
	require.NoError(t, st.WriteRecord(rec))
	e, err := st.Find(name)
	require.NoError(t, err)
	return e
}

type bucket struct {
	srv    *minioserver.Server
	cfg    offsite.Config
	remote *offsite.Remote
}

func newBucket(t *testing.T) bucket {
	srv := minioserver.Start(t)
	cfg := offsite.Config{URL: "s3://" + srv.Bucket(t) + "/team/shop", Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	r, err := offsite.Open(t.Context(), cfg)
	require.NoError(t, err)
	return bucket{srv: srv, cfg: cfg, remote: r}
}

func TestPushListPullRoundTrip(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	local, err := store.Open(t.TempDir())
	require.NoError(t, err)
	old := fakeBackup(t, local, "backup_20261101_030000", 1<<20, time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC))
	newer := fakeBackup(t, local, "backup_20261102_030000", 40<<20, time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)) // several parts
	require.NoError(t, b.remote.Push(ctx, old, nil))
	var seen countingWriter
	require.NoError(t, b.remote.Push(ctx, newer, &seen))
	assert.GreaterOrEqual(t, seen.n, newer.Size, "progress hears the upload")

	list, err := b.remote.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, newer.Name, list[0].Name, "newest first")
	assert.Equal(t, newer.Size, list[0].Size)
	assert.Equal(t, newer.Record.SHA256, list[0].Record.SHA256)

	// The bucket checked each part's CRC32C as it arrived (the payload is
	// not signed chunk by chunk).
	loc, _ := offsite.ParseURL(b.cfg.URL)
	stat, err := b.srv.Client(t).StatObject(ctx, loc.Bucket, loc.Key(newer.Record.File), minio.StatObjectOptions{Checksum: true})
	require.NoError(t, err)
	assert.NotEmpty(t, stat.ChecksumCRC32C, "the parts carry a CRC32C the bucket checks")

	other, err := store.Open(t.TempDir()) // a teammate's new machine
	require.NoError(t, err)
	got, err := b.remote.Pull(ctx, other, newer.Name, nil)
	require.NoError(t, err)
	want, _ := os.ReadFile(newer.Path)
	have, _ := os.ReadFile(got.Path)
	assert.True(t, bytes.Equal(want, have), "the pulled bytes are the pushed ones")
	assert.Equal(t, newer.Record.SHA256, got.Record.SHA256)
	info, err := os.Stat(got.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "backup files are private to the user")

	_, err = b.remote.Pull(ctx, other, newer.Name, nil)
	var exists *offsite.ExistsError
	assert.ErrorAs(t, err, &exists, "a pull never overwrites a local backup")
	_, err = b.remote.Pull(ctx, other, "nope", nil)
	var nf *offsite.NotFoundError
	assert.ErrorAs(t, err, &nf)

	require.NoError(t, b.remote.Delete(ctx, list[1]))
	list, err = b.remote.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestAFlippedByteInTheBucketIsRefused(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	local, _ := store.Open(t.TempDir())
	e := fakeBackup(t, local, "flip", 3<<20, time.Now())
	require.NoError(t, b.remote.Push(ctx, e, nil))

	// Rewrite the object in the bucket with one byte changed, same size.
	data, _ := os.ReadFile(e.Path)
	data[len(data)/2] ^= 0x01
	loc, _ := offsite.ParseURL(b.cfg.URL)
	_, err := b.srv.Client(t).PutObject(ctx, loc.Bucket, loc.Key(e.Record.File), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	require.NoError(t, err)

	other, _ := store.Open(t.TempDir())
	_, err = b.remote.Pull(ctx, other, "flip", nil)
	var bad *offsite.IntegrityError
	require.ErrorAs(t, err, &bad)
	assert.NotContains(t, err.Error(), "\n")
	assertEmptyFolder(t, other.Dir)
}

func TestADamagedLocalFileIsNotPushed(t *testing.T) {
	b := newBucket(t)
	local, _ := store.Open(t.TempDir())
	e := fakeBackup(t, local, "rotten", 2<<20, time.Now())
	f, err := os.OpenFile(e.Path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff, 0xfe}, 1000)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	err = b.remote.Push(t.Context(), e, nil)
	var bad *offsite.IntegrityError
	require.ErrorAs(t, err, &bad)
	list, err := b.remote.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list)
	assertNoObjects(t, b, e)
}

func TestWrongCredentialsAndNoEndpointAreOneLine(t *testing.T) {
	b := newBucket(t)
	wrong := b.cfg
	wrong.SecretAccessKey = "not-the-secret"
	_, err := offsite.Open(t.Context(), wrong)
	var denied *offsite.AccessError
	require.ErrorAs(t, err, &denied)
	assert.Contains(t, err.Error(), "refused the credentials")
	assert.NotContains(t, err.Error(), "not-the-secret")
	assert.NotContains(t, err.Error(), "\n")

	missing := b.cfg
	missing.URL = "s3://no-such-bucket-here"
	_, err = offsite.Open(t.Context(), missing)
	require.ErrorAs(t, err, &denied)
	assert.Contains(t, err.Error(), "does not exist")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	l.Close()
	gone := b.cfg
	gone.Endpoint = closed
	start := time.Now()
	_, err = offsite.Open(t.Context(), gone)
	var unreachable *offsite.UnreachableError
	require.ErrorAs(t, err, &unreachable)
	assert.Less(t, time.Since(start), 15*time.Second, "a refused connection is said soon")
	assert.NotContains(t, err.Error(), b.srv.SecretKey)
	assert.NotContains(t, err.Error(), "\n")
}

func TestAnInterruptedPushLeavesNoBackup(t *testing.T) {
	b := newBucket(t)
	local, _ := store.Open(t.TempDir())
	e := fakeBackup(t, local, "cut", 64<<20, time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	w := &cancelAfter{n: 20 << 20, cancel: cancel}
	err := b.remote.Push(ctx, e, w)
	require.ErrorIs(t, err, context.Canceled)
	list, err := b.remote.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list)
	assertNoObjects(t, b, e)
}

// TestAKilledPushLeavesNoBackup kills (SIGKILL: no cleanup runs) a push in
// another process while its parts are in flight.
func TestAKilledPushLeavesNoBackup(t *testing.T) {
	if os.Getenv("STEVEDORE_PUSH_CHILD") != "" {
		pushChild(t)
		return
	}
	b := newBucket(t)
	local, _ := store.Open(t.TempDir())
	e := fakeBackup(t, local, "killed", 200<<20, time.Now())
	cmd := exec.Command(os.Args[0], "-test.run=^TestAKilledPushLeavesNoBackup$")
	cmd.Env = append(os.Environ(), "STEVEDORE_PUSH_CHILD=1", "CHILD_URL="+b.cfg.URL, "CHILD_ENDPOINT="+b.cfg.Endpoint,
		"CHILD_KEY="+b.cfg.AccessKeyID, "CHILD_SECRET="+b.cfg.SecretAccessKey, "CHILD_DIR="+local.Dir)
	require.NoError(t, cmd.Start())
	loc, _ := offsite.ParseURL(b.cfg.URL)
	client := b.srv.Client(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		inFlight := false
		for u := range client.ListIncompleteUploads(t.Context(), loc.Bucket, loc.Key(e.Record.File), true) {
			inFlight = inFlight || u.Err == nil
		}
		if inFlight {
			break
		}
		require.True(t, time.Now().Before(deadline), "the child never started its upload")
		time.Sleep(20 * time.Millisecond) // polling the server: nothing to wait on
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	list, err := b.remote.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list, "a killed push lists nothing")
	// The next push of the same backup succeeds and cleans the leftover upload.
	require.NoError(t, b.remote.Push(t.Context(), e, nil))
	list, err = b.remote.List(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 1)
	for u := range client.ListIncompleteUploads(t.Context(), loc.Bucket, loc.Key(e.Record.File), true) {
		t.Errorf("unfinished upload left: %s", u.Key)
	}
}

func pushChild(t *testing.T) {
	cfg := offsite.Config{URL: os.Getenv("CHILD_URL"), Endpoint: os.Getenv("CHILD_ENDPOINT"), AccessKeyID: os.Getenv("CHILD_KEY"), SecretAccessKey: os.Getenv("CHILD_SECRET")}
	r, err := offsite.Open(t.Context(), cfg)
	require.NoError(t, err)
	e, err := store.At(os.Getenv("CHILD_DIR")).Find("killed")
	require.NoError(t, err)
	// Slowed so that the parent sees it in flight.
	_ = r.Push(t.Context(), e, slowWriter{})
}

type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(300 * time.Millisecond)
	return len(p), nil
}

func TestParseURLAndEndpoint(t *testing.T) {
	for _, c := range []struct {
		in, bucket, prefix, err string
	}{
		{in: "s3://team-backups", bucket: "team-backups"},
		{in: "s3://team-backups/shop/prod/", bucket: "team-backups", prefix: "shop/prod"},
		{in: "https://team-backups/x", err: "give s3://bucket"},
		{in: "s3://Team_Backups", err: "not a bucket name"},
		{in: "s3://ab", err: "not a bucket name"},
		{in: "s3://team-backups/a/../b", err: "'..'"},
		{in: "s3://AKIAKEY:topsecret@team-backups", err: "credentials may not be written in it"},
	} {
		loc, err := offsite.ParseURL(c.in)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.in)
			assert.NotContains(t, err.Error(), "topsecret")
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.bucket, loc.Bucket, c.in)
		assert.Equal(t, c.prefix, loc.Prefix, c.in)
	}
	for _, c := range []struct {
		in, host string
		secure   bool
		err      bool
	}{
		{in: "", host: "s3.amazonaws.com", secure: true},
		{in: "http://127.0.0.1:9000", host: "127.0.0.1:9000"},
		{in: "minio.internal:9000", host: "minio.internal:9000", secure: true},
		{in: "ftp://x", err: true},
		{in: "https://host/path", err: true},
		{in: "https://AKIAKEY:topsecret@host", err: true},
	} {
		ep, err := offsite.ParseEndpoint(c.in)
		if c.err {
			require.Error(t, err, c.in)
			assert.NotContains(t, err.Error(), "topsecret")
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, offsite.Endpoint{Host: c.host, Secure: c.secure}, ep, c.in)
	}
}

func assertEmptyFolder(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".stevedore.lock") {
			names = append(names, e.Name())
		}
	}
	assert.Empty(t, names, "nothing left in %s", filepath.Base(dir))
}

func assertNoObjects(t *testing.T, b bucket, e store.Entry) {
	t.Helper()
	loc, _ := offsite.ParseURL(b.cfg.URL)
	client := b.srv.Client(t)
	for obj := range client.ListObjects(t.Context(), loc.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		t.Errorf("object left in the bucket: %s", obj.Key)
	}
	// MinIO lists unfinished uploads of one object at a time.
	for u := range client.ListIncompleteUploads(t.Context(), loc.Bucket, loc.Key(e.Record.File), true) {
		t.Errorf("unfinished upload left: %s", u.Key)
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// cancelAfter cancels once n bytes went by: a Ctrl-C in mid-push.
type cancelAfter struct {
	n      int64
	seen   int64
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.seen += int64(len(p)); c.seen >= c.n {
		c.cancel()
	}
	return len(p), nil
}

func TestAnInterruptedPullLeavesNothingThatLooksLikeABackup(t *testing.T) {
	b := newBucket(t)
	local, _ := store.Open(t.TempDir())
	e := fakeBackup(t, local, "halfway", 48<<20, time.Now())
	require.NoError(t, b.remote.Push(t.Context(), e, nil))

	other, _ := store.Open(t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	_, err := b.remote.Pull(ctx, other, "halfway", &cancelAfter{n: 8 << 20, cancel: cancel})
	require.ErrorIs(t, err, context.Canceled)
	list, err := other.List()
	require.NoError(t, err)
	assert.Empty(t, list)
	assertEmptyFolder(t, other.Dir)
}

func TestAnotherBackupUnderTheSameNameIsNeitherOverwrittenNorTakenForIt(t *testing.T) {
	b := newBucket(t)
	mine, _ := store.Open(t.TempDir())
	theirs, _ := store.Open(t.TempDir())
	at := time.Now()
	e := fakeBackup(t, mine, "before_migration", 1<<20, at)
	other := fakeBackup(t, theirs, "before_migration", 1<<20, at)
	require.NoError(t, b.remote.Push(t.Context(), other, nil))

	there, err := b.remote.Holds(t.Context(), e)
	var conflict *offsite.ConflictError
	require.ErrorAs(t, err, &conflict)
	assert.False(t, there)
	there, err = b.remote.Holds(t.Context(), other)
	require.NoError(t, err)
	assert.True(t, there)
}

func TestSizesAreCheckedBeforeAnyByteMoves(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	local, _ := store.Open(t.TempDir())
	e := fakeBackup(t, local, "grown", 1<<20, time.Now())
	require.NoError(t, b.remote.Push(ctx, e, nil))
	// The object grows to 30 MB in the bucket: refused before the download.
	loc, _ := offsite.ParseURL(b.cfg.URL)
	big := make([]byte, 30<<20)
	_, err := b.srv.Client(t).PutObject(ctx, loc.Bucket, loc.Key(e.Record.File), bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{})
	require.NoError(t, err)
	other, _ := store.Open(t.TempDir())
	var seen countingWriter
	_, err = b.remote.Pull(ctx, other, "grown", &seen)
	var bad *offsite.IntegrityError
	require.ErrorAs(t, err, &bad)
	assert.Zero(t, seen.n, "nothing was downloaded")
	assertEmptyFolder(t, other.Dir)

	// A local file shorter than its record is not uploaded.
	short := fakeBackup(t, local, "short", 1<<20, time.Now())
	require.NoError(t, os.Truncate(short.Path, 1000))
	seen.n = 0
	err = b.remote.Push(ctx, short, &seen)
	require.ErrorAs(t, err, &bad)
	assert.Zero(t, seen.n, "nothing was uploaded")
}

func TestDataWhoseRecordWasNeverWrittenIsRemovedOnceOld(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	loc, _ := offsite.ParseURL(b.cfg.URL)
	local, _ := store.Open(t.TempDir())
	kept := fakeBackup(t, local, "kept", 1<<10, time.Now())
	require.NoError(t, b.remote.Push(ctx, kept, nil))
	orphan := []byte("a push killed before its record")
	_, err := b.srv.Client(t).PutObject(ctx, loc.Bucket, loc.Key("orphan.sql.zst.age"), bytes.NewReader(orphan), int64(len(orphan)), minio.PutObjectOptions{})
	require.NoError(t, err)

	removed, err := b.remote.RemoveLeftovers(ctx, time.Hour)
	require.NoError(t, err)
	assert.Empty(t, removed, "too young: maybe a push under way")
	removed, err = b.remote.RemoveLeftovers(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"orphan"}, removed)
	_, err = b.srv.Client(t).StatObject(ctx, loc.Bucket, loc.Key("orphan.sql.zst.age"), minio.StatObjectOptions{})
	assert.Error(t, err)
	list, err := b.remote.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "a backup with its record stays")
}
