// Package diag is the doctor (diag:run): it checks the machine, the stack's
// services, the api, the database and the backups concurrently, each with
// its own short timeout, and says in one line whether all is well and, for
// every failure, the exact command to run next.
package diag

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// SchemaVersion is the version of the report's JSON schema
// (docs/diagnostic.schema.json).
const SchemaVersion = 1

// Status of a check.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one thing the doctor looked at.
type Check struct {
	ID      string            `json:"id"`    // stable: engine, compose, disk, service:api, probe:api, database, backups, port:8000
	Group   string            `json:"group"` // machine, services, api, database, backups
	Status  Status            `json:"status"`
	Summary string            `json:"summary"`
	Details map[string]string `json:"details,omitempty"`
	Next    string            `json:"next,omitempty"` // the command to run when it is not ok
	TookMS  int64             `json:"took_ms"`
}

// ServiceReport is one service in the report, in the shape of the old
// orchestrator's diagnostic (state, connectivity, details).
type ServiceReport struct {
	Container     string            `json:"container"`
	State         string            `json:"state"`
	Health        string            `json:"health"`
	RestartCount  int               `json:"restart_count"`
	UptimeSeconds int64             `json:"uptime_seconds"`
	Ports         []int             `json:"ports"`
	Connectivity  bool              `json:"connectivity"` // every published port answers, and the probe passes
	Details       map[string]string `json:"details"`
}

// Summary counts what the report holds and gives the verdict.
type Summary struct {
	HealthyServices int    `json:"healthy_services"`
	RunningServices int    `json:"running_services"`
	TotalServices   int    `json:"total_services"`
	ChecksOK        int    `json:"checks_ok"`
	Warnings        int    `json:"warnings"`
	Failures        int    `json:"failures"`
	Operational     bool   `json:"operational"` // no failure
	Verdict         Status `json:"verdict"`
}

// Report is one run of the doctor.
type Report struct {
	SchemaVersion int                      `json:"schema_version"`
	Timestamp     time.Time                `json:"timestamp"`
	Project       string                   `json:"project"`
	Mode          string                   `json:"mode"`
	ComposeFiles  []string                 `json:"compose_files"`
	DurationMS    int64                    `json:"duration_ms"`
	Checks        []Check                  `json:"checks"`
	Services      map[string]ServiceReport `json:"services"`
	Summary       Summary                  `json:"summary"`
}

// Finish orders the checks (machine first, failures within a group first)
// and computes the summary and verdict.
func (r *Report) Finish() {
	order := map[string]int{"machine": 0, "services": 1, "api": 2, "database": 3, "backups": 4}
	rank := map[Status]int{Fail: 0, Warn: 1, OK: 2}
	sort.SliceStable(r.Checks, func(i, j int) bool {
		a, b := r.Checks[i], r.Checks[j]
		if order[a.Group] != order[b.Group] {
			return order[a.Group] < order[b.Group]
		}
		if rank[a.Status] != rank[b.Status] {
			return rank[a.Status] < rank[b.Status]
		}
		return a.ID < b.ID
	})
	s := Summary{TotalServices: len(r.Services)}
	for _, svc := range r.Services {
		if svc.State == "running" {
			s.RunningServices++
			if svc.Health == "healthy" || (svc.Health == "" && svc.Connectivity) {
				s.HealthyServices++
			}
		}
	}
	for _, c := range r.Checks {
		switch c.Status {
		case OK:
			s.ChecksOK++
		case Warn:
			s.Warnings++
		default:
			s.Failures++
		}
	}
	s.Operational = s.Failures == 0
	switch {
	case s.Failures > 0:
		s.Verdict = Fail
	case s.Warnings > 0:
		s.Verdict = Warn
	default:
		s.Verdict = OK
	}
	r.Summary = s
	if r.Services == nil {
		r.Services = map[string]ServiceReport{}
	}
	if r.Checks == nil {
		r.Checks = []Check{}
	}
}

// VerdictLine is the one line that ends the terminal view.
func (r *Report) VerdictLine() string {
	s := r.Summary
	counts := fmt.Sprintf("%d ok, %s, %s", s.ChecksOK, term.Plural(s.Warnings, "warning"), term.Plural(s.Failures, "failure"))
	switch s.Verdict {
	case OK:
		return fmt.Sprintf("%s is healthy: %s", r.Project, counts)
	case Warn:
		return fmt.Sprintf("%s works, with warnings: %s", r.Project, counts)
	}
	return fmt.Sprintf("%s has problems: %s", r.Project, counts)
}

// ReportName is the file a report is written to: diagnostic_YYYYMMDD_HHMMSS.json.
func ReportName(t time.Time) string {
	return "diagnostic_" + t.Local().Format("20060102_150405") + ".json"
}

// Keep is how many reports are kept in the reports folder.
const Keep = 20

// Save writes the report into dir (private, atomic by rename) and removes
// all but the newest Keep reports. It returns the report's path.
func Save(r *Report, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, ReportName(r.Timestamp))
	if err := store.WriteFileAtomic(path, append(data, '\n')); err != nil {
		return "", err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "diagnostic_*.json"))
	sort.Strings(old) // the names sort by time
	for len(old) > Keep {
		if !strings.HasSuffix(old[0], filepath.Base(path)) {
			_ = os.Remove(old[0])
		}
		old = old[1:]
	}
	return path, nil
}
