package selftest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Event is one line of `go test -json` (see `go doc test2json`).
type Event struct {
	Action     string
	ImportPath string // set on build-output and build-fail
	Package    string
	Test       string
	Elapsed    float64
	Output     string
}

// PackageResult is how one package's tests ended.
type PackageResult struct {
	Package                 string
	Action                  string // pass, fail or skip
	Elapsed                 time.Duration
	Passed, Failed, Skipped int
}

// Failure is a failed test (or a package that failed without a test, such as
// one that did not build) with its output.
type Failure struct {
	Package, Test string
	Output        string
}

// Skip is a skipped test and the reason it gave.
type Skip struct {
	Package, Test, Reason string
}

// Report accumulates a `go test -json` stream. Output is kept only for tests
// still running, so memory follows the number of running tests, not the run.
type Report struct {
	Packages []PackageResult
	Failures []Failure
	Skips    []Skip

	running map[string]*strings.Builder // package + "\x00" + test -> output
	counts  map[string]*PackageResult
}

// NewReport returns an empty Report.
func NewReport() *Report {
	return &Report{running: map[string]*strings.Builder{}, counts: map[string]*PackageResult{}}
}

// Add records one event.
func (r *Report) Add(e Event) {
	key := e.Package + "\x00" + e.Test
	pkg := r.counts[e.Package]
	if pkg == nil {
		pkg = &PackageResult{Package: e.Package}
		r.counts[e.Package] = pkg
	}
	switch e.Action {
	case "build-output":
		key = e.ImportPath
		fallthrough
	case "output":
		b := r.running[key]
		if b == nil {
			b = &strings.Builder{}
			r.running[key] = b
		}
		b.WriteString(e.Output)
		return
	case "build-fail":
		out := ""
		if b := r.running[e.ImportPath]; b != nil {
			out = b.String()
		}
		r.Failures = append(r.Failures, Failure{Package: e.ImportPath, Test: "(build)", Output: out})
		return
	case "pass", "fail", "skip":
	default:
		return
	}
	output := ""
	if b := r.running[key]; b != nil {
		output = b.String()
		delete(r.running, key)
	}
	if e.Test == "" { // the package itself
		pkg.Action, pkg.Elapsed = e.Action, time.Duration(e.Elapsed*float64(time.Second))
		r.Packages = append(r.Packages, *pkg)
		if e.Action == "fail" && !r.hasFailure(e.Package) {
			r.Failures = append(r.Failures, Failure{Package: e.Package, Output: output})
		}
		return
	}
	switch e.Action {
	case "pass":
		pkg.Passed++
	case "fail":
		pkg.Failed++
		r.Failures = append(r.Failures, Failure{Package: e.Package, Test: e.Test, Output: output})
	case "skip":
		pkg.Skipped++
		r.Skips = append(r.Skips, Skip{Package: e.Package, Test: e.Test, Reason: skipReason(output)})
	}
}

func (r *Report) hasFailure(pkg string) bool {
	for _, f := range r.Failures {
		if f.Package == pkg {
			return true
		}
	}
	return false
}

// skipReason picks the message a test gave t.Skip from its output.
func skipReason(output string) string {
	var reason string
	for _, line := range strings.Split(output, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- SKIP") {
			continue
		}
		reason = line
	}
	return reason
}

// Totals returns the number of tests that passed, failed and were skipped.
func (r *Report) Totals() (passed, failed, skipped int) {
	for _, p := range r.counts {
		passed += p.Passed
		failed += p.Failed
		skipped += p.Skipped
	}
	return passed, failed, skipped
}

// OK reports whether every package passed.
func (r *Report) OK() bool {
	for _, p := range r.Packages {
		if p.Action == "fail" {
			return false
		}
	}
	return len(r.Failures) == 0
}

// ReadReport reads a whole `go test -json` stream, calling each (if set) on
// every event as it arrives.
func ReadReport(r io.Reader, each func(*Report, Event)) (*Report, error) {
	rep := NewReport()
	return rep, rep.Read(r, each)
}

// Read adds a whole `go test -json` stream to the report: a second run's
// counts add to the first's.
func (rep *Report) Read(r io.Reader, each func(*Report, Event)) error {
	dec := json.NewDecoder(r)
	for {
		var e Event
		err := dec.Decode(&e)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read go test -json output: %w", err)
		}
		rep.Add(e)
		if each != nil {
			each(rep, e)
		}
	}
}

// Summary is the closing line: "tests: N passed, N failed, N skipped".
func (r *Report) Summary() string {
	p, f, s := r.Totals()
	return fmt.Sprintf("tests: %d passed, %d failed, %d skipped", p, f, s)
}
