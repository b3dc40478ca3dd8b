package term

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/stretchr/testify/assert"
)

func TestNoColourOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	New(&buf).OK("done %d", 3)
	assert.Equal(t, "✓ done 3\n", buf.String())
}

func TestColourWhenForcedAndNoColourWins(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, WithColour(true)).Fail("broken")
	assert.Equal(t, "\x1b[31m✗\x1b[0m broken\n", buf.String())

	t.Setenv("NO_COLOR", "1")
	buf.Reset()
	New(&buf).Fail("broken") // not a terminal anyway; NO_COLOR must not add colour
	assert.Equal(t, "✗ broken\n", buf.String())
}

func TestDetailOnlyWhenVerbose(t *testing.T) {
	var buf bytes.Buffer
	quiet := New(&buf, WithVerbose(false))
	quiet.Detail("hidden")
	fmt.Fprint(quiet.DetailWriter(), "hidden too")
	assert.Empty(t, buf.String())

	loud := New(&buf, WithVerbose(true))
	loud.Detail("shown")
	fmt.Fprint(loud.DetailWriter(), "raw")
	assert.Equal(t, "  shown\nraw", buf.String())
}

type nextErr struct{}

func (nextErr) Error() string { return "engine gone" }
func (nextErr) Next() string  { return "docker info" }

func TestFailedSetsExitCodeAndNextCommand(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantOut  string
	}{
		{"plain failure", errors.New("disk full"), 1, "✗ disk full\n  next: go tool mage x\n"},
		{"interrupted", fmt.Errorf("dump: %w", context.Canceled), 130, "✗ interrupted\n"},
		{"error knows better", fmt.Errorf("connect: %w", nextErr{}), 1, "✗ connect: engine gone\n  next: docker info\n"},
		{"interrupted with something to say", fmt.Errorf("%w: %w", nextErr{}, context.Canceled), 130, "✗ engine gone: context canceled\n  next: docker info\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := New(&buf).Failed("x", tt.err, "go tool mage x")
			assert.Equal(t, tt.wantCode, mg.ExitStatus(err))
			assert.Equal(t, tt.wantOut, buf.String())
		})
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850*time.Millisecond + 400*time.Microsecond: "850ms",
		4249 * time.Millisecond:                     "4.2s",
		72*time.Second + 400*time.Millisecond:       "1m12s",
	} {
		assert.Equal(t, want, Duration(d))
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 14_200_000: "14.2 MB", 1_300_000_000: "1.3 GB"} {
		assert.Equal(t, want, Bytes(n))
	}
}

func TestProgressCountsAndStaysSilentOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	pr := New(&buf).Progress("dumping")
	_, _ = pr.Write(make([]byte, 1500))
	assert.Equal(t, int64(1500), pr.n.Load())
	pr.Done()
	pr.Done() // idempotent
	assert.Empty(t, buf.String())
}

// Without a terminal, -v (and the run log) tell each phase and each tenth
// of the data: a CI log shows where a long restore is.
func TestProgressTellsPhasesAsDetail(t *testing.T) {
	var buf, log bytes.Buffer
	pr := New(&buf, WithVerbose(true), WithLog(&log)).Progress("checksum")
	pr.Phase("loading data", 1000)
	for range 10 {
		_, _ = pr.Write(make([]byte, 100))
	}
	pr.Phase("building indexes and constraints", 0)
	pr.Done()
	out := buf.String()
	for _, want := range []string{"checksum…", "checksum: done in", "loading data: 1.0 kB…", "loading data: 10% (100 B of 1.0 kB)",
		"loading data: 90% (900 B of 1.0 kB)", "loading data: done, 1.0 kB in", "building indexes and constraints…",
		"building indexes and constraints: done in"} {
		assert.Contains(t, out, want)
		assert.Contains(t, log.String(), want)
	}
	assert.NotContains(t, out, "100%", "the end of a phase says done instead")
	assert.Equal(t, 9, strings.Count(out, "% ("))
}

func TestProgressLiveLine(t *testing.T) {
	pr := &Progress{p: New(&bytes.Buffer{})}
	pr.begin("loading data", 2000)
	_, _ = pr.Write(make([]byte, 500))
	assert.Regexp(t, `^loading data 500 B of 2\.0 kB, 25% \(.*/s\)$`, pr.status())
	pr.begin("building indexes and constraints", 0)
	assert.Equal(t, "building indexes and constraints 0s", pr.status())
}

type explained struct{}

func (explained) Error() string   { return "api is not ready" }
func (explained) Explain() string { return "last lines:\nboom\n" }

func TestFailedShowsTheExplanation(t *testing.T) {
	var buf bytes.Buffer
	_ = New(&buf).Failed("env:up", explained{}, "go tool mage env:logs")
	assert.Equal(t, "✗ api is not ready\n    last lines:\n    boom\n  next: go tool mage env:logs\n", buf.String())
}

func TestPlural(t *testing.T) {
	assert.Equal(t, "1 table", Plural(1, "table"))
	assert.Equal(t, "0 rows", Plural(int64(0), "row"))
	assert.Equal(t, "12 backups", Plural(12, "backup"))
}
