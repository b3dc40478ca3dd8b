package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/stack"
)

// stackFixture is the bundled stack under its own project name, on free
// ports, with its own settings, state and backup folders, so tests never
// touch a developer's stack. It is taken down with its volumes afterwards.
type stackFixture struct {
	project, dir string
	apiPort      int
	env          []string
	driver       composecli.Driver
}

// freePort is a port nothing listens on, below the kernel's ephemeral range
// (32768 and up here): a port from that range, handed out by listening on
// :0, can meanwhile become the local end of any outgoing connection, and
// the stack's publishing of it then fails.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		if l, err := net.Listen("tcp", fmt.Sprintf(":%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

func newStack(t *testing.T, edit func(composeFile string) string) *stackFixture {
	t.Helper()
	pgtest.RequireDocker(t)
	root := checkoutRoot()
	dir := t.TempDir()
	f := &stackFixture{project: fmt.Sprintf("stvtest%d", time.Now().UnixNano()%1e9), dir: dir, apiPort: freePort(t)}
	driver, err := composecli.Detect(t.Context())
	require.NoError(t, err)
	f.driver = driver
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "compose"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "database", "init-data"), 0o755))
	for _, name := range []string{"docker-compose.yml", "docker-compose.debug.yml", ".env.example"} {
		data, err := os.ReadFile(filepath.Join(root, "compose", name))
		require.NoError(t, err)
		text := string(data)
		if edit != nil && name == "docker-compose.yml" {
			text = edit(text)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "compose", name), []byte(text), 0o644))
	}
	// The doctor's migrations check counts the api's migration files.
	require.NoError(t, os.Symlink(filepath.Join(root, "compose", "api"), filepath.Join(dir, "compose", "api")))
	settings := fmt.Sprintf("POSTGRES_USER=app\nPOSTGRES_PASSWORD=%s\nPOSTGRES_DB=app\nDB_PORT=%d\nAPI_PORT=%d\nAPI_DEBUG_PORT=%d\nPGADMIN_PORT=%d\nPGADMIN_DEFAULT_PASSWORD=x\n",
		"pw-"+f.project, freePort(t), f.apiPort, freePort(t), freePort(t))
	envFile := filepath.Join(dir, "compose", ".env")
	require.NoError(t, os.WriteFile(envFile, []byte(settings), 0o600))
	f.env = []string{
		"STEVEDORE_PROJECT=" + f.project,
		"STEVEDORE_COMPOSE_DIR=" + filepath.Join(dir, "compose"),
		"STEVEDORE_ENV_FILE=" + envFile,
		"STEVEDORE_STATE_DIR=" + filepath.Join(dir, "state"),
		"STEVEDORE_BACKUP_DIR=" + filepath.Join(dir, "backups"),
	}
	t.Cleanup(func() {
		_ = f.compose(context.Background(), "--profile", "tools", "down", "-v", "--remove-orphans").Run()
	})
	return f
}

// compose is Docker Compose on the fixture's project, in debug mode: the one
// the targets would choose (composecli.Detect), v1 on a machine that has
// only v1.
func (f *stackFixture) compose(ctx context.Context, args ...string) *exec.Cmd {
	argv := f.driver.Args(composecli.Project{
		Name:    f.project,
		Files:   []string{filepath.Join(f.dir, "compose", "docker-compose.yml"), filepath.Join(f.dir, "compose", "docker-compose.debug.yml")},
		EnvFile: filepath.Join(f.dir, "compose", ".env"),
	}, args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

func (f *stackFixture) run(t *testing.T, args ...string) run {
	t.Helper()
	return runTarget(t, f.env, args...)
}

func (f *stackFixture) api(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, fmt.Sprintf("http://localhost:%d%s", f.apiPort, path), strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func (f *stackFixture) up(t *testing.T, args ...string) run {
	t.Helper()
	r := f.run(t, append([]string{"env:up"}, args...)...)
	require.Equal(t, 0, r.Code, r.Out)
	return r
}

func TestEnvUpFromNothingThenAgainIsANoOp(t *testing.T) {
	f := newStack(t, nil)
	r := f.up(t)
	assert.Contains(t, r.Out, "up and healthy")
	assert.Contains(t, r.Out, fmt.Sprintf("http://localhost:%d/docs", f.apiPort), "prints working URLs")
	code, body := f.api(t, "GET", "/health", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	code, _ = f.api(t, "GET", "/docs", "")
	assert.Equal(t, 200, code)
	code, body = f.api(t, "GET", "/openapi.json", "")
	assert.Equal(t, 200, code)
	assert.True(t, json.Valid([]byte(body)))

	// Already up: says so, changes nothing, well under a second; measured
	// side by side with `docker compose ps` on the same stack.
	again := runTimed(t, f.env, "env:up")
	require.Equal(t, 0, again.Code, again.Out)
	assert.Contains(t, again.Out, "already up and healthy")
	assert.Less(t, again.Took, time.Second)
	ps := f.composePs(t)
	t.Logf("env:up on a healthy stack %s; docker compose ps %s (ratio %.2f)", again.Took, ps, again.Took.Seconds()/ps.Seconds())
}

// composePs times `docker compose ps` on the stack: the yardstick for
// targets that only look.
func (f *stackFixture) composePs(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	require.NoError(t, f.compose(t.Context(), "ps").Run())
	return time.Since(start)
}

func TestEnvUpReportsABusyPortBeforeStarting(t *testing.T) {
	f := newStack(t, nil)
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", f.apiPort))
	require.NoError(t, err)
	defer l.Close()
	r := f.run(t, "env:up")
	assert.Equal(t, 1, r.Code, r.Out)
	line := failureLine(t, r)
	assert.Contains(t, line, fmt.Sprintf("port %d, which api publishes, is held by", f.apiPort))
	assert.Contains(t, line, fmt.Sprintf("(pid %d)", os.Getpid()), "the holder is named")
	assert.NotContains(t, r.Out, "starting", "nothing started")
	st := f.status(t)
	assert.Empty(t, st.Services)
}

func TestEnvUpFailsWithinTheTimeoutWhenTheAPINeverGetsReady(t *testing.T) {
	f := newStack(t, func(compose string) string {
		return strings.Replace(compose, "/health\n", "/never-ready\n", 1) // the probe label
	})
	r := f.run(t, "env:up", "-timeout=6s")
	assert.Equal(t, 1, r.Code, r.Out)
	line := failureLine(t, r)
	assert.Contains(t, line, "api is not ready: probe:")
	assert.Contains(t, line, "(waited 6s)")
	assert.Contains(t, r.Out, "last lines of api's log:\n    time=", "the api's last log lines are shown")
	assert.Contains(t, r.Out, "next: go tool mage env:logs -service=api")
	assert.Less(t, r.Took, 40*time.Second)
}

func (f *stackFixture) status(t *testing.T) stack.Status {
	t.Helper()
	r := f.run(t, "env:status", "-json")
	require.Equal(t, 0, r.Code, r.Out)
	var st stack.Status
	require.NoError(t, json.Unmarshal([]byte(r.Out), &st), r.Out)
	return st
}

func TestEnvDataSurvivesDownAndUpAndComesBackWithRestore(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	code, _ := f.api(t, "POST", "/api/v1/items", `{"name":"survivor","quantity":7}`)
	require.Equal(t, 201, code)

	r := f.run(t, "env:down")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "✓ backup backup_")
	list := f.run(t, "db:list", "-json")
	require.Equal(t, 0, list.Code)
	assert.Contains(t, list.Out, `"rows": 3`, "the backup holds the item and the migrations")
	assert.Empty(t, f.status(t).Services, "down removed every container")

	f.up(t)
	_, body := f.api(t, "GET", "/api/v1/items", "")
	assert.Contains(t, body, "survivor")

	code, _ = f.api(t, "DELETE", "/api/v1/items/1", "")
	require.Equal(t, 204, code)
	r = f.run(t, "db:restore", "-latest", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	require.Eventually(t, func() bool { // the api reconnects after the swap
		code, body := f.api(t, "GET", "/api/v1/items", "")
		return code == 200 && strings.Contains(body, "survivor")
	}, 10*time.Second, 100*time.Millisecond)
}

func TestEnvRegenerateBringsBackAnEmptyHealthyStack(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	code, _ := f.api(t, "POST", "/api/v1/items", `{"name":"old data","quantity":1}`)
	require.Equal(t, 201, code)
	r := f.run(t, "env:regenerate")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "✓ backup backup_")
	assert.Contains(t, r.Out, "volumes deleted")
	assert.Contains(t, r.Out, "up and healthy")
	code, body := f.api(t, "GET", "/api/v1/items", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"items":[]}`, body)
}

func TestEnvStatusJSONMatchesComposePs(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	st := f.status(t)
	assert.True(t, st.Up)
	got := map[string]string{}
	for _, s := range st.Services {
		got[s.Name] = s.State + "/" + s.Health
		assert.True(t, s.Ready, s.Name)
	}
	if f.driver.V1() {
		// docker-compose v1 has no JSON output: its running services only.
		out, err := f.compose(t.Context(), "ps", "--services", "--filter", "status=running").Output()
		require.NoError(t, err)
		assert.ElementsMatch(t, strings.Fields(string(out)), slices.Collect(maps.Keys(got)))
		return
	}
	out, err := f.compose(t.Context(), "ps", "--format", "json").Output()
	require.NoError(t, err)
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ps struct{ Service, State, Health string }
		require.NoError(t, json.Unmarshal([]byte(line), &ps), line)
		want[ps.Service] = ps.State + "/" + ps.Health
	}
	assert.Equal(t, want, got)
}

// The same stack through docker-compose v1, the fallback.
func TestEnvWithComposeV1(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("docker-compose v1 is not installed")
	}
	f := newStack(t, nil)
	f.env = append(f.env, "STEVEDORE_COMPOSE=v1")
	r := f.run(t, "-v", "env:up")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "docker-compose -p "+f.project)
	code, _ := f.api(t, "GET", "/health", "")
	assert.Equal(t, 200, code)
	r = f.run(t, "env:down", "-nobackup")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Empty(t, f.status(t).Services)
}

// A database volume made with another password: a second checkout of the
// repository sharing the project (its own settings file, another password)
// and then a deleted settings file (made anew from the example, with a new
// random password). env:up finds it before the wait, sets the role's
// password from inside the container, says so, and the api gets ready.
func TestEnvUpMendsAVolumeMadeWithAnotherPassword(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)

	second := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(second, "compose"), 0o755))
	for _, name := range []string{"docker-compose.yml", "docker-compose.debug.yml", ".env"} {
		data, err := os.ReadFile(filepath.Join(f.dir, "compose", name))
		require.NoError(t, err)
		if name == ".env" {
			data = []byte(strings.Replace(string(data), "POSTGRES_PASSWORD=pw-", "POSTGRES_PASSWORD=second-checkout-", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(second, "compose", name), data, 0o600))
	}
	require.NoError(t, os.Symlink(filepath.Join(checkoutRoot(), "compose", "api"), filepath.Join(second, "compose", "api")))
	env := append(append([]string(nil), f.env...),
		"STEVEDORE_COMPOSE_DIR="+filepath.Join(second, "compose"),
		"STEVEDORE_ENV_FILE="+filepath.Join(second, "compose", ".env"),
		"STEVEDORE_STATE_DIR="+filepath.Join(second, "state"))
	r := runTarget(t, env, "env:up")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "the database volume had another password for app")
	assert.Contains(t, r.Out, "up and healthy")
	code, _ := f.api(t, "GET", "/health", "")
	assert.Equal(t, 200, code)

	// Back in the first checkout, its settings file deleted: env:up makes it
	// from the example (the fixture's ports, a new random password).
	envFile := filepath.Join(f.dir, "compose", ".env")
	settings, err := os.ReadFile(envFile)
	require.NoError(t, err)
	example := strings.Replace(string(settings), "POSTGRES_PASSWORD=pw-"+f.project, "POSTGRES_PASSWORD=change-me", 1)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "compose", ".env.example"), []byte(example), 0o644))
	require.NoError(t, os.Remove(envFile))
	r = f.run(t, "env:up")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "created")
	assert.Contains(t, r.Out, "the database volume had another password for app")
	code, _ = f.api(t, "GET", "/health", "")
	assert.Equal(t, 200, code)
	made, err := os.ReadFile(envFile)
	require.NoError(t, err)
	assert.NotContains(t, string(made), "change-me")
	assert.NotContains(t, r.Out, "POSTGRES_PASSWORD=", "no password in the output")
}
