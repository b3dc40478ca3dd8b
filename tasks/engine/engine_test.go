package engine_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

func TestConnectToADeadSocketFailsFastAndClearly(t *testing.T) {
	dead := filepath.Join(t.TempDir(), "docker.sock")
	t.Setenv("DOCKER_HOST", "unix://"+dead)
	start := time.Now()
	_, err := engine.Connect(t.Context())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)

	var unreachable *engine.UnreachableError
	require.True(t, errors.As(err, &unreachable), "%T", err)
	assert.Equal(t, "docker info", unreachable.Next())
	assert.Contains(t, err.Error(), dead)
	assert.NotContains(t, err.Error(), "\n", "one line")
}

func TestConnectToTheRealEngine(t *testing.T) {
	eng := pgtest.RequireDocker(t) // engine.Connect, skipped without an engine outside CI
	assert.NotEmpty(t, eng.Version)
	assert.Regexp(t, `^1\.\d+$`, eng.APIVersion)
}
