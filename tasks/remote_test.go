package tasks_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/dind"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

// ports are the host ports the fixture's settings file gives its services.
func (f *stackFixture) ports(t *testing.T) []int {
	t.Helper()
	file, err := os.Open(filepath.Join(f.dir, "compose", ".env"))
	require.NoError(t, err)
	defer file.Close()
	var ports []int
	for sc := bufio.NewScanner(file); sc.Scan(); {
		k, v, _ := strings.Cut(sc.Text(), "=")
		if strings.HasSuffix(k, "_PORT") {
			p, err := strconv.Atoi(v)
			require.NoError(t, err, sc.Text())
			ports = append(ports, p)
		}
	}
	return ports
}

// Every target against an engine that does not share this machine's
// filesystem: a second dockerd in a container, reached with
// DOCKER_HOST=tcp://127.0.0.1:PORT, as Docker Desktop, a remote engine or
// rootless Docker would be. Backups and restores take the exec stream
// (the FIFO handshake fails, and -v says so), and give the same results.
func TestRemoteEngineRunsEveryTarget(t *testing.T) {
	f := newStack(t, nil)
	// The stack's ports on every interface of the engine's machine (the
	// second engine's container), which publishes them on this machine's
	// 127.0.0.1 only: reached as a remote engine's would be, still private.
	envFile := filepath.Join(f.dir, "compose", ".env")
	settings, err := os.ReadFile(envFile)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(envFile, append(settings, "BIND_ADDRESS=0.0.0.0\n"...), 0o600))
	remote := dind.Start(t, f.ports(t), images.Postgres.Ref, images.API.Ref)
	f.env = append(f.env, "DOCKER_HOST="+remote.Host)

	r := f.run(t, "images:build")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "ready")

	start := time.Now()
	f.up(t)
	t.Logf("env:up on the second engine: %s", time.Since(start).Round(time.Millisecond))
	code, _ := f.api(t, "POST", "/api/v1/items", `{"name":"far away","quantity":3}`)
	require.Equal(t, 201, code)

	r = f.run(t, "-v", "db:backup")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "data moved through the Docker engine's exec stream")
	r = f.run(t, "-v", "db:verify")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "exec stream")

	code, _ = f.api(t, "DELETE", "/api/v1/items/1", "")
	require.Equal(t, 204, code)
	r = f.run(t, "-v", "db:restore", "-latest", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "exec stream")
	require.Eventually(t, func() bool { // the api reconnects after the swap
		code, body := f.api(t, "GET", "/api/v1/items", "")
		return code == 200 && strings.Contains(body, "far away")
	}, 10*time.Second, 100*time.Millisecond)

	r = f.run(t, "diag:run")
	assert.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "ports not checked")

	// The stack ran there, and nothing of it on this machine's engine.
	assert.NotEmpty(t, f.status(t).Services)
	local, err := pgtest.RequireDocker(t).ContainerList(t.Context(), client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", composecli.LabelProject+"="+f.project)})
	require.NoError(t, err)
	assert.Empty(t, local.Items)
}
