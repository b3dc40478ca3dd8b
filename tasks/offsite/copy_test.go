package offsite

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHashingCopyCopiesAndHashesEveryByteOnce(t *testing.T) {
	for _, size := range []int{0, 1, 1 << 20, 9<<20 + 7} {
		src := make([]byte, size)
		_, _ = rand.Read(src)
		var dst bytes.Buffer
		n, sum, err := hashingCopy(&dst, iotest.HalfReader(bytes.NewReader(src)))
		require.NoError(t, err)
		want := sha256.Sum256(src)
		assert.Equal(t, int64(size), n)
		assert.Equal(t, hex.EncodeToString(want[:]), sum, "size %d", size)
		assert.True(t, bytes.Equal(src, dst.Bytes()), "size %d: the bytes arrive in order", size)
	}
}

// countingReader is an endless source that counts what was read of it.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

type failingWriter struct{ left int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.left < len(p) {
		return 0, errDiskFull
	}
	w.left -= len(p)
	return len(p), nil
}

// A failed write stops the download soon after, not at the end of it.
func TestHashingCopyStopsAtAFailedWrite(t *testing.T) {
	src := &countingReader{}
	_, _, err := hashingCopy(&failingWriter{left: 4 << 20}, src)
	require.ErrorIs(t, err, errDiskFull)
	assert.Less(t, src.n, int64(64<<20), "reading went on after the write failed")
}

func TestHashingCopyReturnsTheSourcesError(t *testing.T) {
	broken := errors.New("connection reset")
	src := io.MultiReader(io.LimitReader(&countingReader{}, 5<<20+3), iotest.ErrReader(broken))
	n, _, err := hashingCopy(io.Discard, src)
	require.ErrorIs(t, err, broken)
	assert.Equal(t, int64(5<<20+3), n)
}
