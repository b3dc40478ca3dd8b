package iocount

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCounts(t *testing.T) {
	r := &Reader{R: strings.NewReader("twelve bytes")}
	w := &Writer{}
	n, err := io.Copy(w, r)
	require.NoError(t, err)
	assert.Equal(t, int64(12), n)
	assert.Equal(t, int64(12), r.N)
	assert.Equal(t, int64(12), w.N)
}
