package runlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogRecordsStartAndEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "stevedore.log")
	l, err := Open(path, "env:up -mode=debug")
	require.NoError(t, err)
	_, _ = l.Write([]byte("line\n"))
	l.Close(errors.New("api is not ready"), time.Second)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(data)
	assert.Contains(t, text, "= env:up -mode=debug")
	assert.Contains(t, text, "line\n")
	assert.Contains(t, text, "ended after 1s: failed: api is not ready")
}

func TestLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stevedore.log")
	for i := 0; i < Keep+2; i++ {
		require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("x", MaxSize)), 0o600))
		l, err := Open(path, "t")
		require.NoError(t, err)
		l.Close(nil, 0)
	}
	for i := 1; i <= Keep; i++ {
		assert.FileExists(t, path+"."+string(rune('0'+i)))
	}
	assert.NoFileExists(t, path+"."+string(rune('0'+Keep+1)))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(MaxSize), "the current log starts small again")
}
