package offsite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/stevedore-dev/stevedore/tasks/store"
)

// Config is how to reach the bucket. The keys are secrets: nothing here
// prints them, and errors never hold them.
type Config struct {
	URL, Endpoint, Region                      string
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Remote is a bucket prefix that holds backups.
type Remote struct {
	client *minio.Client
	loc    Location
	where  string // s3://bucket/prefix at host: what messages show
}

// A push holds uploadThreads parts of partSize in memory, whatever the
// backup's size: 64 MiB.
const (
	partSize      = 16 << 20
	uploadThreads = 4
)

// Open checks the settings and that the bucket answers with these
// credentials: a wrong key or an unreachable endpoint is one line here,
// before any work.
func Open(ctx context.Context, cfg Config) (*Remote, error) {
	loc, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	ep, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	r := &Remote{loc: loc, where: loc.String() + " at " + ep.Host}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, fmt.Errorf("%s: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or offsite.access_key_id and secret_access_key through the settings file)", r.where)
	}
	transport, err := minio.DefaultTransport(ep.Secure)
	if err != nil {
		return nil, err
	}
	r.client, err = minio.New(ep.Host, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		Secure:    ep.Secure,
		Region:    cfg.Region,
		Transport: transport,
		// A refused connection is said at once; S3's own hiccups are retried.
		MaxRetries: 3,
		// Parts carry a CRC32C the bucket checks, which lets a push skip
		// the payload's sha256 signature (see Push).
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.where, err)
	}
	r.client.SetAppInfo("stevedore", "1")
	ok, err := r.client.BucketExists(ctx, loc.Bucket)
	if err != nil {
		return nil, classify(r.where, err)
	}
	if !ok {
		return nil, &AccessError{Where: r.where, Code: "NoSuchBucket"}
	}
	return r, nil
}

func (r *Remote) String() string { return r.where }

// Entry is one backup in the bucket.
type Entry struct {
	Name   string
	When   time.Time
	Size   int64
	Record *store.Record
}

// Local is e as the backup folder lists a backup: what retention, the
// listing and the choice of the newest good one take. Path is the file's
// name in the bucket.
func (e Entry) Local() store.Entry {
	return store.Entry{Name: e.Name, Path: e.Record.File, When: e.When, Size: e.Size, Record: e.Record}
}

// Locals is Local of each entry.
func Locals(all []Entry) []store.Entry {
	out := make([]store.Entry, len(all))
	for i, e := range all {
		out[i] = e.Local()
	}
	return out
}

// List returns the backups in the bucket, newest first: records whose data
// object is there. Data without a record (a push that did not finish) is
// not a backup.
func (r *Remote) List(ctx context.Context) ([]Entry, error) {
	prefix := r.loc.Key("")
	sizes := map[string]int64{}
	var records []string
	for obj := range r.client.ListObjects(ctx, r.loc.Bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			return nil, classify(r.where, obj.Err)
		}
		file := strings.TrimPrefix(obj.Key, prefix)
		if strings.Contains(file, "/") {
			continue
		}
		sizes[file] = obj.Size
		if name, ok := strings.CutSuffix(file, ".json"); ok && store.ValidateName(name) == nil {
			records = append(records, name)
		}
	}
	var out []Entry
	for _, name := range records {
		rec, err := r.record(ctx, name)
		var damaged *damagedRecordError
		var gone *NotFoundError
		if errors.As(err, &damaged) || errors.As(err, &gone) {
			continue // a damaged record makes no backup; one deleted meanwhile is gone
		}
		if err != nil {
			return nil, err
		}
		size, ok := sizes[rec.File]
		if !ok || rec.File != store.DataFile(name, rec.Encrypted()) {
			continue
		}
		out = append(out, Entry{Name: name, When: rec.CreatedAt, Size: size, Record: rec})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].When.After(out[j].When) })
	return out, nil
}

func (r *Remote) record(ctx context.Context, name string) (*store.Record, error) {
	obj, err := r.client.GetObject(ctx, r.loc.Bucket, r.loc.Key(name+".json"), minio.GetObjectOptions{})
	if err != nil {
		return nil, classify(r.where, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, 16<<20))
	if err != nil {
		if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" || code == "NoSuchObject" {
			return nil, &NotFoundError{Name: name, Where: r.where}
		}
		return nil, classify(r.where, err)
	}
	var rec store.Record
	if err := json.Unmarshal(data, &rec); err != nil || rec.Name != name || rec.File != store.DataFile(name, rec.Encrypted()) {
		return nil, &damagedRecordError{Name: name, Where: r.where}
	}
	return &rec, nil
}

// RemoveLeftovers deletes data objects whose record was never written (a
// push killed between the two) once they are older than grace, which
// leaves alone a push under way from another machine. It returns their
// names.
func (r *Remote) RemoveLeftovers(ctx context.Context, grace time.Duration) ([]string, error) {
	prefix := r.loc.Key("")
	records := map[string]bool{}
	var data []minio.ObjectInfo
	for obj := range r.client.ListObjects(ctx, r.loc.Bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			return nil, classify(r.where, obj.Err)
		}
		file := strings.TrimPrefix(obj.Key, prefix)
		if name, ok := strings.CutSuffix(file, ".json"); ok {
			records[name] = true
		} else if dataName(file) != "" {
			data = append(data, obj)
		}
	}
	var removed []string
	for _, obj := range data {
		name := dataName(strings.TrimPrefix(obj.Key, prefix))
		if records[name] || time.Since(obj.LastModified) < grace {
			continue
		}
		if err := r.client.RemoveObject(ctx, r.loc.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			return removed, classify(r.where, err)
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// dataName is the backup a data object's file name belongs to, or "".
func dataName(file string) string {
	for _, encrypted := range []bool{true, false} {
		ext := store.DataFile("", encrypted)
		if name, ok := strings.CutSuffix(file, ext); ok && !strings.Contains(name, "/") && store.ValidateName(name) == nil {
			return name
		}
	}
	return ""
}

// Find returns the backup called name: its record, and its data's size,
// asked for directly (not through a listing of the bucket).
func (r *Remote) Find(ctx context.Context, name string) (Entry, error) {
	if err := store.ValidateName(name); err != nil {
		return Entry{}, err
	}
	rec, err := r.record(ctx, name)
	if err != nil {
		return Entry{}, err
	}
	stat, err := r.client.StatObject(ctx, r.loc.Bucket, r.loc.Key(rec.File), minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return Entry{}, &NotFoundError{Name: name, Where: r.where}
	}
	if err != nil {
		return Entry{}, classify(r.where, err)
	}
	return Entry{Name: name, When: rec.CreatedAt, Size: stat.Size, Record: rec}, nil
}

// Holds reports whether the bucket holds backup e, complete: the same
// bytes under the same name. Another backup under that name is an error.
func (r *Remote) Holds(ctx context.Context, e store.Entry) (bool, error) {
	there, err := r.Find(ctx, e.Name)
	var nf *NotFoundError
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, err
	case e.Record == nil || there.Record.SHA256 != e.Record.SHA256 || there.Size != e.Record.Size:
		return false, &ConflictError{Name: e.Name, Where: r.where}
	}
	return true, nil
}

// Push uploads backup e: the data in parts uploaded in parallel, hashed as
// it is read, then, once both the hash and the bucket's size agree with the
// record, the record. Anything short of that leaves no record, so nothing
// that lists as a backup; an unfinished multipart upload is aborted.
func (r *Remote) Push(ctx context.Context, e store.Entry, progress io.Writer) error {
	if e.Record == nil {
		return fmt.Errorf("backup %s is an old script's file without a record: restore it and take a new backup to push it", e.Name)
	}
	rec := e.Record
	key := r.loc.Key(rec.File)
	f, err := os.Open(e.Path)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() != rec.Size {
		return &IntegrityError{Name: e.Name, Where: e.Path, Want: rec.SHA256, Got: "?", Size: info.Size(), WantSize: rec.Size}
	}
	// What a killed push of this backup left unfinished goes first.
	if err := r.client.RemoveIncompleteUpload(ctx, r.loc.Bucket, key); err != nil {
		return classify(r.where, err)
	}
	// The file is read once, in order: hashed on the way, while minio-go
	// uploads the parts it has read in parallel.
	h := newHasher()
	defer h.Sum()
	sinks := []io.Writer{h}
	if progress != nil {
		sinks = append(sinks, progress)
	}
	body := io.TeeReader(onlyReader{f}, io.MultiWriter(sinks...))
	_, upErr := r.client.PutObject(ctx, r.loc.Bucket, key, body, info.Size(), minio.PutObjectOptions{
		ContentType:           "application/octet-stream",
		PartSize:              partSize,
		NumThreads:            uploadThreads,
		ConcurrentStreamParts: true,
		UserMetadata:          map[string]string{"sha256": rec.SHA256},
		// The bucket checks each part's CRC32C (TrailingHeaders) instead
		// of a sha256 of the payload signed chunk by chunk: the file is
		// hashed once, here, against the record, whose own upload is
		// signed with its sha256, and a pull checks the data against it.
		// Over plain HTTP that halves the hashing of the data.
		DisableContentSha256: true,
	})
	sum := h.Sum()
	fail := func(err error) error {
		// Bounded: after Ctrl-C a dead endpoint must not hold the run.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.client.RemoveObject(cleanup, r.loc.Bucket, key, minio.RemoveObjectOptions{})
		_ = r.client.RemoveIncompleteUpload(cleanup, r.loc.Bucket, key)
		return err
	}
	switch {
	case ctx.Err() != nil:
		return fail(ctx.Err())
	case upErr != nil:
		return fail(classify(r.where, upErr))
	case sum != rec.SHA256 || info.Size() != rec.Size:
		return fail(&IntegrityError{Name: e.Name, Where: e.Path, Want: rec.SHA256, Got: sum, Size: info.Size(), WantSize: rec.Size})
	}
	stat, err := r.client.StatObject(ctx, r.loc.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return fail(classify(r.where, err))
	}
	if stat.Size != rec.Size {
		return fail(&IntegrityError{Name: e.Name, Where: r.where, Want: rec.SHA256, Got: "?", Size: stat.Size, WantSize: rec.Size})
	}
	if err := r.putRecord(ctx, rec); err != nil {
		return fail(err)
	}
	return nil
}

// putRecord writes the record: the moment the backup appears in the bucket.
func (r *Remote) putRecord(ctx context.Context, rec *store.Record) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	_, err = r.client.PutObject(ctx, r.loc.Bucket, r.loc.Key(rec.Name+".json"), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/json"})
	return classify(r.where, err)
}

// Pull downloads backup name into st: the data into a hidden file, hashed
// as it arrives and compared with the bucket's record, renamed into place
// only when it matches, and then the record. A damaged object or an
// interrupted pull leaves nothing in the folder.
func (r *Remote) Pull(ctx context.Context, st *store.Store, name string, progress io.Writer) (store.Entry, error) {
	if st.Exists(name) {
		return store.Entry{}, &ExistsError{Name: name}
	}
	e, err := r.Find(ctx, name)
	if err != nil {
		return store.Entry{}, err
	}
	rec := e.Record
	if e.Size != rec.Size {
		return store.Entry{}, &IntegrityError{Name: name, Where: r.where, Want: rec.SHA256, Got: "?", Size: e.Size, WantSize: rec.Size}
	}
	obj, err := r.client.GetObject(ctx, r.loc.Bucket, r.loc.Key(rec.File), minio.GetObjectOptions{})
	if err != nil {
		return store.Entry{}, classify(r.where, err)
	}
	defer obj.Close()
	data, err := store.CreatePending(st.DataPath(rec), store.Direct())
	if err != nil {
		return store.Entry{}, err
	}
	defer data.Abort()
	var dst io.Writer = data
	if progress != nil {
		dst = io.MultiWriter(data, progress)
	}
	// One byte more than the record says is enough to know it is not it.
	n, got, err := hashingCopy(dst, remoteReader{io.LimitReader(obj, rec.Size+1)})
	var fromBucket *remoteReadError
	switch {
	case ctx.Err() != nil:
		return store.Entry{}, ctx.Err()
	case errors.As(err, &fromBucket):
		return store.Entry{}, classify(r.where, fromBucket.err)
	case err != nil:
		return store.Entry{}, fmt.Errorf("write %s: %w", name, err) // the local disk
	}
	if got != rec.SHA256 || n != rec.Size {
		return store.Entry{}, &IntegrityError{Name: name, Where: r.where, Want: rec.SHA256, Got: got, Size: n, WantSize: rec.Size}
	}
	if err := data.Commit(); err != nil {
		return store.Entry{}, err
	}
	if err := st.WriteRecord(rec); err != nil {
		return store.Entry{}, fmt.Errorf("write the record of %s: %w", name, err)
	}
	return st.Find(name)
}

// Delete removes backup name from the bucket, record first: from that
// moment the data is a leftover, never a half-deleted backup.
func (r *Remote) Delete(ctx context.Context, e Entry) error {
	for _, file := range []string{e.Name + ".json", e.Record.File} {
		if err := r.client.RemoveObject(ctx, r.loc.Bucket, r.loc.Key(file), minio.RemoveObjectOptions{}); err != nil {
			return classify(r.where, err)
		}
	}
	return nil
}

// hasher hashes what is written to it on a goroutine of its own: a Write
// returns once the bytes are handed over, so the hash of one chunk runs
// while the next one travels.
type hasher struct {
	pw   *io.PipeWriter
	done chan string
	sum  string
}

func newHasher() *hasher {
	pr, pw := io.Pipe()
	h := &hasher{pw: pw, done: make(chan string, 1)}
	go func() {
		s := sha256.New()
		_, _ = io.CopyBuffer(s, pr, make([]byte, 1<<20))
		h.done <- hex.EncodeToString(s.Sum(nil))
	}()
	return h
}

func (h *hasher) Write(p []byte) (int, error) { return h.pw.Write(p) }

// Sum ends the stream and returns the hash of what was written; later
// calls return the same.
func (h *hasher) Sum() string {
	if h.done != nil {
		h.pw.Close()
		h.sum, h.done = <-h.done, nil
	}
	return h.sum
}

// hashingCopy copies src to dst and returns the sha256 of what it copied.
// Reading, writing and hashing run at once, each on its own goroutine, on
// buffers that circulate between them: no byte is copied twice, a write
// that waits for the disk does not stop the download, and the hash is off
// the transfer's path. The buffers suit a store.Direct file. After a failed
// write, n and sum are of what was read, not of what was written.
func hashingCopy(dst io.Writer, src io.Reader) (n int64, sum string, err error) {
	const buffers, size = 8, 1 << 20
	free, toWrite, toHash := make(chan []byte, buffers), make(chan []byte, buffers), make(chan []byte, buffers)
	for range buffers {
		free <- store.DirectBuffer(size)
	}
	var werr error // the writer's; read once the hasher is done, after it
	failed := make(chan struct{})
	go func() {
		defer close(toHash)
		for b := range toWrite {
			if werr == nil {
				if _, werr = dst.Write(b); werr != nil {
					close(failed)
				}
			}
			toHash <- b
		}
	}()
	done := make(chan string, 1)
	go func() {
		h := sha256.New()
		for b := range toHash {
			h.Write(b)
			free <- b[:cap(b)]
		}
		done <- hex.EncodeToString(h.Sum(nil))
	}()
	var rerr error
read:
	for rerr == nil {
		var buf []byte
		select {
		case <-failed:
			break read
		case buf = <-free:
		}
		var got int
		got, rerr = io.ReadFull(src, buf)
		if got > 0 {
			n += int64(got)
			toWrite <- buf[:got]
		}
	}
	close(toWrite)
	sum = <-done
	switch {
	case werr != nil:
		return n, sum, werr
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		return n, sum, nil
	}
	return n, sum, rerr
}

// onlyReader hides the file's ReadAt, so that minio-go reads it in order
// (and the hash sees every byte once) rather than in parallel sections.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// remoteReader marks errors reading from the bucket, to tell them from
// errors writing the local file.
type remoteReader struct{ r io.Reader }

type remoteReadError struct{ err error }

func (e *remoteReadError) Error() string { return e.err.Error() }

func (r remoteReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = &remoteReadError{err}
	}
	return n, err
}
