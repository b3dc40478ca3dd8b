package tasks_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/diag"
)

// diagnose runs diag:run -json on the fixture's stack and returns the
// report, validated against the documented schema.
func (f *stackFixture) diagnose(t *testing.T, extraEnv ...string) (run, diag.Report) {
	t.Helper()
	env := append(append([]string(nil), f.env...), "STEVEDORE_REPORT_DIR="+filepath.Join(f.dir, "reports"))
	r := runTarget(t, append(env, extraEnv...), "diag:run", "-json")
	var doc any
	require.NoError(t, json.Unmarshal([]byte(r.Out[:strings.LastIndex(r.Out, "}")+1]), &doc), r.Out)
	require.NoError(t, reportSchema(t).Validate(doc), "the report follows docs/diagnostic.schema.json")
	var rep diag.Report
	require.NoError(t, json.Unmarshal([]byte(r.Out[:strings.LastIndex(r.Out, "}")+1]), &rep))
	return r, rep
}

func reportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	s, err := c.Compile(filepath.Join(checkoutRoot(), "docs", "diagnostic.schema.json"))
	require.NoError(t, err)
	return s
}

func check(rep diag.Report, id string) diag.Check {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	return diag.Check{ID: id, Status: "missing"}
}

func TestDiagOnAHealthyStackIsAllOK(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	require.Equal(t, 0, f.run(t, "db:backup").Code)
	require.Equal(t, 0, f.run(t, "db:verify").Code)

	r, rep := f.diagnose(t)
	assert.Equal(t, 0, r.Code, r.Out)
	// Compose v1 is end-of-life: on a machine that has only v1 (as this kind
	// comes), the compose check rightly warns, and only it.
	want, verdict, counts := diag.OK, diag.OK, "is healthy: 8 ok, 0 warnings, 0 failures"
	if f.driver.V1() {
		want, verdict, counts = diag.Warn, diag.Warn, "works, with warnings: 7 ok, 1 warning, 0 failures"
	}
	for _, c := range rep.Checks {
		if c.ID == "compose" {
			assert.Equal(t, want, c.Status, "%s: %s", c.ID, c.Summary)
			continue
		}
		assert.Equal(t, diag.OK, c.Status, "%s: %s", c.ID, c.Summary)
	}
	assert.Equal(t, verdict, rep.Summary.Verdict)
	assert.Equal(t, 2, rep.Summary.HealthyServices)
	for _, id := range []string{"engine", "compose", "disk", "ports", "service:api", "service:db", "database", "backups"} {
		assert.NotEqual(t, "missing", string(check(rep, id).Status), id)
	}
	assert.Contains(t, check(rep, "database").Summary, "migrations at 2 of 2")
	assert.True(t, rep.Services["api"].Connectivity)
	reports, _ := filepath.Glob(filepath.Join(f.dir, "reports", "diagnostic_*.json"))
	assert.Len(t, reports, 1, "every run writes a report")

	// The terminal view: a mark per check and one verdict line.
	view := runTimed(t, append(f.env, "STEVEDORE_REPORT_DIR="+filepath.Join(f.dir, "reports")), "diag:run")
	assert.Equal(t, 0, view.Code)
	lines := strings.Split(strings.TrimSpace(view.Out), "\n")
	assert.Contains(t, lines[len(lines)-1], counts)
	assert.Less(t, view.Took, time.Second, "under a second")
	ps := f.composePs(t)
	t.Logf("diag:run %s, docker compose ps %s: ratio %.2f", view.Took, ps, view.Took.Seconds()/ps.Seconds())
}

func TestDiagNamesAStoppedAPIAndTheNextCommand(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	require.NoError(t, f.compose(t.Context(), "stop", "api").Run())
	r, rep := f.diagnose(t)
	assert.Equal(t, 1, r.Code, r.Out)
	api := check(rep, "service:api")
	assert.Equal(t, diag.Fail, api.Status)
	assert.Contains(t, api.Summary, "api: exited")
	assert.Equal(t, "go tool mage env:up", api.Next)
	assert.Equal(t, diag.Fail, rep.Summary.Verdict)
	assert.False(t, rep.Summary.Operational)
}

func TestDiagFailsFastWhenTheDatabaseIsStopped(t *testing.T) {
	f := newStack(t, nil)
	f.up(t)
	require.NoError(t, f.compose(t.Context(), "stop", "db").Run())
	r, rep := f.diagnose(t)
	assert.Equal(t, 1, r.Code, r.Out)
	db := check(rep, "database")
	assert.Equal(t, diag.Fail, db.Status)
	assert.Less(t, db.TookMS, int64(1000), "no long connect timeout on a stopped database")
	assert.Less(t, r.Took, 5*time.Second)
}

func TestDiagWithTheEngineUnreachable(t *testing.T) {
	f := newStack(t, nil)
	r, rep := f.diagnose(t, "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "dead.sock"))
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Less(t, r.Took, 2*time.Second)
	engine := check(rep, "engine")
	assert.Equal(t, diag.Fail, engine.Status)
	assert.Contains(t, engine.Summary, "Docker engine not reachable")
	assert.Equal(t, "docker info", engine.Next)
	assert.Equal(t, 1, rep.Summary.Failures, "one clear failure, not one per service")
}

func TestDiagNamesAForeignPortHolder(t *testing.T) {
	f := newStack(t, nil)
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", f.apiPort))
	require.NoError(t, err)
	defer l.Close()
	r, rep := f.diagnose(t)
	assert.Equal(t, 1, r.Code)
	ports := check(rep, "ports")
	assert.Equal(t, diag.Fail, ports.Status)
	assert.Contains(t, ports.Summary, fmt.Sprintf("port %d (for api) is held by", f.apiPort))
	assert.Contains(t, ports.Summary, fmt.Sprintf("(pid %d)", os.Getpid()))
}
