package pgtarget_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// Both data paths on the real engine: the FIFO (this engine shares our
// folders, which the handshake proves) and the exec stream (forced here;
// the second-engine suite meets it for real) give the same dump, and a load
// through the stream stores what the dump holds.
func TestDockerTransportsMoveTheSameBytes(t *testing.T) {
	p := pgtest.Start(t)
	eng := pgtest.RequireDocker(t)
	conn := p.Connect(t)
	_, err := conn.Exec(t.Context(), `CREATE TABLE t (id int PRIMARY KEY, s text);
		INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g`)
	require.NoError(t, err)
	db, err := pgtarget.OpenContainer(t.Context(), eng, p.Container.GetContainerID())
	require.NoError(t, err)

	var viaFIFO, viaStream bytes.Buffer
	require.NoError(t, db.Dump(t.Context(), &viaFIFO))
	assert.Equal(t, pgtarget.ViaFIFO, db.Transport())

	t.Cleanup(pgtarget.NotShared(eng))
	require.NoError(t, db.Dump(t.Context(), &viaStream))
	assert.Equal(t, pgtarget.ViaExec, db.Transport())
	assert.Equal(t, withoutRestrictKey(viaFIFO.String()), withoutRestrictKey(viaStream.String()), "the two paths give the same dump")
	assert.Contains(t, viaStream.String(), "PostgreSQL database dump complete")

	_, err = db.Query(t.Context(), "postgres", "CREATE DATABASE copy")
	require.NoError(t, err)
	tags, err := db.Load(t.Context(), "copy", bytes.NewReader(viaStream.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, []int64{50000}, tags.Copies)
	out, err := db.Query(t.Context(), "copy", "SELECT count(*), md5(string_agg(s, ',' ORDER BY id)) FROM t")
	require.NoError(t, err)
	want, err := db.Query(t.Context(), p.Database, "SELECT count(*), md5(string_agg(s, ',' ORDER BY id)) FROM t")
	require.NoError(t, err)
	assert.Equal(t, want, out)

	// A failing script: psql's own error, through the stream.
	_, err = db.Load(t.Context(), "copy", strings.NewReader("SELECT * FROM missing;\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing")

	// A reader that fails on this side is the error, not psql's view of it.
	broken := errors.New("disk read failed")
	_, err = db.Load(t.Context(), "copy", io.MultiReader(strings.NewReader("SELECT 1;\n"), errReader{broken}))
	assert.ErrorIs(t, err, broken)
	assertNoSidecars(t, eng)
}

// Ctrl-C during a transfer through the stream ends it at once and leaves no
// sidecar behind.
func TestDockerStreamStopsOnCancel(t *testing.T) {
	p := pgtest.Start(t)
	eng := pgtest.RequireDocker(t)
	db, err := pgtarget.OpenContainer(t.Context(), eng, p.Container.GetContainerID())
	require.NoError(t, err)
	t.Cleanup(pgtarget.NotShared(eng))

	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, "SELECT pg_sleep(60);\n") // psql waits; the feeder stays open
	}()
	done := make(chan error, 1)
	go func() { _, err := db.Load(ctx, p.Database, pr); done <- err }()
	time.Sleep(time.Second) // the load is under way: nothing to poll from outside
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 10*time.Second)
	case <-time.After(30 * time.Second):
		t.Fatal("the load did not stop on cancel")
	}
	pw.Close()
	assertNoSidecars(t, eng)
}

// withoutRestrictKey drops the lines pg_dump (15.14 and later) draws a random
// key for, on every run.
func withoutRestrictKey(dump string) string {
	var keep []string
	for _, line := range strings.Split(dump, "\n") {
		if !strings.HasPrefix(line, `\restrict `) && !strings.HasPrefix(line, `\unrestrict `) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func assertNoSidecars(t *testing.T, eng interface {
	ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error)
}) {
	t.Helper()
	require.Eventually(t, func() bool {
		list, err := eng.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", pgtarget.LabelSidecar)})
		return err == nil && len(list.Items) == 0
	}, 10*time.Second, 100*time.Millisecond, "no sidecar left")
}
