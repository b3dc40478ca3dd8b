package store

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A Direct file takes aligned writes past the page cache and the unaligned
// tail through it, and holds every byte once committed.
func TestDirectPendingSkipsThePageCacheUntilTheTail(t *testing.T) {
	final := filepath.Join(t.TempDir(), "pulled.sql.zst")
	p, err := CreatePending(final, Direct())
	require.NoError(t, err)
	if !p.direct {
		t.Skip("the file system of the test's temporary folder has no direct I/O")
	}
	want := make([]byte, 3<<20+123)
	_, _ = rand.Read(want)
	_, err = p.Write(nil)
	require.NoError(t, err)
	require.True(t, p.direct, "an empty write changes nothing")
	buf := DirectBuffer(1 << 20)
	assert.Zero(t, uintptr(len(buf))%directAlign)
	for off := 0; off+len(buf) <= len(want); off += len(buf) {
		copy(buf, want[off:])
		n, err := p.Write(buf)
		require.NoError(t, err)
		require.Equal(t, len(buf), n)
	}
	assert.True(t, p.direct, "aligned writes keep the file direct")
	assert.True(t, openedDirect(t, p.file))
	assert.Zero(t, cachedPages(t, p.file, 3<<20), "aligned writes went past the page cache")

	_, err = p.Write(want[3<<20:])
	require.NoError(t, err)
	assert.False(t, p.direct, "the tail leaves direct mode")
	assert.False(t, openedDirect(t, p.file))
	require.NoError(t, p.Commit())
	got, err := os.ReadFile(final)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "the committed file holds what was written")
}

// A first write that is not aligned sends the whole file through the cache.
func TestDirectPendingTakesAnUnalignedStart(t *testing.T) {
	final := filepath.Join(t.TempDir(), "record.json")
	p, err := CreatePending(final, Direct())
	require.NoError(t, err)
	_, err = p.Write([]byte("{}"))
	require.NoError(t, err)
	assert.False(t, p.direct)
	require.NoError(t, p.Commit())
	got, err := os.ReadFile(final)
	require.NoError(t, err)
	assert.Equal(t, "{}", string(got))
}

func openedDirect(t *testing.T, f *os.File) bool {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	require.NoError(t, err)
	return flags&unix.O_DIRECT != 0
}

// cachedPages counts the pages of f's first size bytes in the page cache.
func cachedPages(t *testing.T, f *os.File, size int) int {
	r, err := os.Open(f.Name())
	require.NoError(t, err)
	defer r.Close()
	m, err := unix.Mmap(int(r.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(m)
	vec := make([]byte, (size+os.Getpagesize()-1)/os.Getpagesize())
	// x/sys has no wrapper for mincore(2).
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(size), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		require.NoError(t, errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
