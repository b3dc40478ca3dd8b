// Package proc runs host processes for targets: bound to the target's
// context, their output shown with -v, and the reason they failed kept for
// the error a user reads.
package proc

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Run runs args[0] with args[1:]. Its output goes to out's detail writer (the
// terminal with -v); when it fails, the error carries its last output line.
func Run(ctx context.Context, out *term.Printer, args ...string) error {
	out.Detail("$ %s", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	tail := &Tail{}
	cmd.Stdout = io.MultiWriter(out.DetailWriter(), tail)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if last := tail.Cause(); last != "" {
			return fmt.Errorf("%s: %w: %s", args[0], err, last)
		}
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return nil
}

// tailSize bounds what a Tail keeps, so long outputs cost constant memory.
const tailSize = 4 << 10

// Tail is an io.Writer that keeps only the last few KiB written to it.
type Tail struct{ buf []byte }

func (t *Tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= tailSize {
		p = p[len(p)-tailSize:]
		t.buf = t.buf[:0]
	}
	if over := len(t.buf) + len(p) - tailSize; over > 0 {
		t.buf = t.buf[over:]
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns what the Tail holds.
func (t *Tail) String() string { return string(t.buf) }

// Cause returns the line that says why a program failed: the last one that
// starts with "ERROR" or "Error" (docker-compose v1 ends on a summary,
// "Encountered errors while bringing up the project.", after its errors),
// else the last line.
func (t *Tail) Cause() string {
	lines := strings.Split(strings.TrimRight(string(t.buf), " \t\r\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "Error") {
			return l
		}
	}
	return t.LastLine()
}

// LastLine returns the last non-blank line written, trimmed.
func (t *Tail) LastLine() string { return LastLine(string(t.buf)) }

// LastLine returns the last non-blank line of s, trimmed: where a program
// says why it failed. Only the last tailSize bytes are looked at, so an
// error message stays short whatever a program printed.
func LastLine(s string) string {
	if len(s) > tailSize {
		s = s[len(s)-tailSize:]
	}
	lines := strings.Split(strings.TrimRight(s, " \t\r\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
