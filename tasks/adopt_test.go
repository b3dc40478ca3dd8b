package tasks_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

// fixtureRepo copies a repository of testdata/repos into a folder of the
// test's, so that its backups and state stay there.
func fixtureRepo(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(checkoutRoot(), "tasks", "testdata", "repos", name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "bin" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	require.NoError(t, err)
	return dst
}

// composeVersions are the Compose implementations on this machine: tests
// drive each one there is, through the targets' own detection.
func composeVersions(t *testing.T) []string {
	t.Helper()
	found := composecli.Installed(t.Context())
	if len(found) == 0 {
		t.Skip("no Docker Compose on this machine")
	}
	return found
}

// runIn runs the compiled targets in dir, as a user in that repository.
func runIn(t *testing.T, dir string, env []string, args ...string) run {
	t.Helper()
	cmd := target(t, env, args...)
	cmd.Dir = dir
	return finish(t, cmd)
}

// mageIn runs `go tool mage` in a repository of its own.
func mageIn(t *testing.T, dir string, env []string, args ...string) run {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"tool", "mage"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	return finish(t, cmd)
}

// downAtEnd stops the repository's stack and deletes its volumes when the
// test ends, passed, failed or interrupted (the test's context is over by
// then).
func downAtEnd(t *testing.T, dir string, env []string, command ...string) {
	t.Cleanup(func() {
		cmd := exec.Command(command[0], append(command[1:], "env:down", "-nobackup", "-volumes")...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("env:down at the end: %v\n%s", err, out)
		}
	})
}

// The repository of seed 004, its Compose file exactly as its author wrote
// it (docker-compose.yaml, db on postgres:15-alpine with container_name, a
// named volume, a pg_isready healthcheck and its own network, an api built
// from its Dockerfile, pgadmin behind the tools profile, no .env), with a
// magefile that only imports stevedore's targets and a go.mod requiring
// stevedore through a replace: every target works with no configuration.
func TestAdoptSeed004WithNoConfiguration(t *testing.T) {
	pgtest.RequireDocker(t)
	repo := fixtureRepo(t, "seed004")
	gomod := filepath.Join(repo, "go.mod")
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	data = []byte(strings.Replace(string(data), "=> ../../../..", "=> "+checkoutRoot(), 1))
	require.NoError(t, os.WriteFile(gomod, data, 0o644))
	// The healthcheck's curl, which the fixture's Dockerfile copies in.
	build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(repo, "bin", "curl"), "./tools/curl")
	build.Dir, build.Env = repo, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	// A magefile binary cached by an earlier run could be of other sources.
	t.Setenv("MAGEFILE_CACHE", t.TempDir())
	r := mageIn(t, repo, nil, "-l")
	require.Equal(t, 0, r.Code, r.Out)
	for _, target := range []string{"env:up", "env:status", "db:backup", "db:restore", "diag:run", "env:down"} {
		assert.Contains(t, r.Out, target)
	}
	t.Logf("first `go tool mage -l` in the importing repository (magefile compiled): %s", r.Took.Round(time.Millisecond))

	for _, compose := range composeVersions(t) {
		t.Run("compose "+compose, func(t *testing.T) {
			env := []string{"STEVEDORE_COMPOSE=" + compose}
			downAtEnd(t, repo, env, "go", "tool", "mage")

			r := mageIn(t, repo, env, "env:up")
			require.Equal(t, 0, r.Code, r.Out)
			assert.Contains(t, r.Out, "stack seed004 up and healthy")
			assert.NotContains(t, r.Out, "stevedore/api:local:", "stevedore's own images are not made for a stack that does not use them")
			assert.NotContains(t, r.Out, "mode", "a project with no modes just runs")

			r = mageIn(t, repo, env, "env:up")
			require.Equal(t, 0, r.Code, r.Out)
			assert.Contains(t, r.Out, "already up and healthy; nothing to do")

			r = mageIn(t, repo, env, "env:status", "-json")
			require.Equal(t, 0, r.Code, r.Out)
			var status struct {
				Up       bool `json:"up"`
				Services []struct {
					Service   string `json:"service"`
					Container string `json:"container"`
					Ready     bool   `json:"ready"`
				} `json:"services"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.Out), &status), r.Out)
			assert.True(t, status.Up)
			require.Len(t, status.Services, 2)
			assert.Equal(t, "inveb-envases-ot-api", status.Services[0].Container)
			assert.Equal(t, "inveb-envases-ot-db", status.Services[1].Container)

			for _, args := range [][]string{{"db:backup"}, {"db:verify"}, {"db:restore", "-latest", "-yes"}} {
				r = mageIn(t, repo, env, args...)
				require.Equal(t, 0, r.Code, "%v: %s", args, r.Out)
			}
			assert.Contains(t, r.Out, "restored backup_")

			r = mageIn(t, repo, env, "diag:run")
			assert.Equal(t, 0, r.Code, r.Out)
			assert.Contains(t, r.Out, "database inveb_envases: SELECT 1 ok")
			assert.NotContains(t, r.Out, "migrations", "no advice about an api it does not have")
			assert.NotContains(t, r.Out, "env:restart")

			r = mageIn(t, repo, env, "env:down")
			require.Equal(t, 0, r.Code, r.Out)
			assert.Contains(t, r.Out, "stack seed004 stopped")
		})
	}
}

// A stack configured in x-stevedore (compose.yaml with compose.override.yaml,
// a database service named store with its password in a secret file, two
// modes, a probe, a migrations check), run by the targets of this checkout.
func TestAdoptModesAndMigrationsFromXStevedore(t *testing.T) {
	pgtest.RequireDocker(t)
	repo := fixtureRepo(t, "modes")
	apiPort := freePort(t)
	env := []string{"SHOP_API_PORT=" + strconv.Itoa(apiPort), "SHOP_DB_PORT=" + strconv.Itoa(freePort(t))}
	downAtEnd(t, repo, env, targetsBinary(t))

	r := runIn(t, repo, env, "env:up")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "stack shop up and healthy")
	assert.Contains(t, r.Out, "(dev mode)")
	assert.Contains(t, r.Out, "http://localhost:"+strconv.Itoa(apiPort)+"/docs", "the URLs x-stevedore declares")

	r = runIn(t, repo, env, "diag:run")
	assert.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "database shop: SELECT 1 ok")
	assert.Contains(t, r.Out, "migrations at 2", "the declared migrations check ran")
	assert.Contains(t, r.Out, "api: running, no healthcheck", "the api has no healthcheck")
	assert.Contains(t, r.Out, "1 URL(s) answer", "its declared probe does")

	r = runIn(t, repo, env, "db:backup")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "backing up database shop", "credentials from POSTGRES_*_FILE")

	r = runIn(t, repo, env, "env:up", "-mode=staging")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), `unknown mode "staging": use one of ci, dev`)
}

// A stack found only through COMPOSE_FILE and configured only through
// STEVEDORE_* variables: two PostgreSQL services, so the database must be
// named, and a failure says so in one line until it is.
func TestAdoptThroughComposeFileAndVariables(t *testing.T) {
	pgtest.RequireDocker(t)
	repo := fixtureRepo(t, "envonly")
	backups := filepath.Join(t.TempDir(), "team-backups")
	env := []string{"COMPOSE_FILE=ops/stack.yml", "STEVEDORE_PROJECT=envonly" + strconv.Itoa(int(time.Now().UnixNano()%1e6))}
	downAtEnd(t, repo, env, targetsBinary(t))

	r := runIn(t, repo, env, "env:up")
	require.Equal(t, 0, r.Code, "starting needs no database: %s", r.Out)
	r = runIn(t, repo, env, "db:backup")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, failureLine(t, r), "several services run PostgreSQL (primary, reporting): say which is the database")

	env = append(env, "STEVEDORE_DB_SERVICE=primary", "STEVEDORE_BACKUP_DIR="+backups)
	r = runIn(t, repo, env, "db:backup")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "backing up database orders")
	entries, err := os.ReadDir(backups)
	require.NoError(t, err)
	assert.NotEmpty(t, entries, "the backup went where STEVEDORE_BACKUP_DIR says")
}
