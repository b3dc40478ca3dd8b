package diag

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFinishOrdersAndJudges(t *testing.T) {
	r := &Report{Project: "shop", Checks: []Check{
		{ID: "backups", Group: "backups", Status: Warn},
		{ID: "service:db", Group: "services", Status: OK},
		{ID: "service:api", Group: "services", Status: Fail},
		{ID: "engine", Group: "machine", Status: OK},
	}, Services: map[string]ServiceReport{
		"db":  {State: "running", Health: "healthy"},
		"api": {State: "exited"},
		"job": {State: "running", Connectivity: true},
	}}
	r.Finish()
	var ids []string
	for _, c := range r.Checks {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{"engine", "service:api", "service:db", "backups"}, ids, "machine first, failures first")
	assert.Equal(t, Summary{HealthyServices: 2, RunningServices: 2, TotalServices: 3, ChecksOK: 2, Warnings: 1, Failures: 1, Verdict: Fail}, r.Summary)
	assert.Equal(t, "shop has problems: 2 ok, 1 warning, 1 failure", r.VerdictLine())

	ok := &Report{Project: "shop", Checks: []Check{{Status: OK}, {Status: Warn}, {Status: Warn}}}
	ok.Finish()
	assert.Equal(t, Warn, ok.Summary.Verdict)
	assert.True(t, ok.Summary.Operational, "warnings are allowed")
	assert.Equal(t, "shop works, with warnings: 1 ok, 2 warnings, 0 failures", ok.VerdictLine())
	assert.NotNil(t, ok.Services, "an empty map, not null")
}

func TestSaveKeepsTheLast20(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reports")
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.Local)
	for i := 0; i < Keep+5; i++ {
		r := &Report{SchemaVersion: SchemaVersion, Timestamp: start.Add(time.Duration(i) * time.Second)}
		r.Finish()
		path, err := Save(r, dir)
		require.NoError(t, err)
		assert.Equal(t, ReportName(r.Timestamp), filepath.Base(path))
	}
	files, err := filepath.Glob(filepath.Join(dir, "diagnostic_*.json"))
	require.NoError(t, err)
	assert.Len(t, files, Keep)
	assert.NotContains(t, files, filepath.Join(dir, "diagnostic_20261123_100000.json"), "the oldest went first")
	info, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}
