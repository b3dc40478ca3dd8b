// Package term prints what targets do: short lines by default, detail with
// mage's -v, colour only on a terminal and never with NO_COLOR set.
package term

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/magefile/mage/mg"
	"golang.org/x/term"
)

// Printer writes a target's progress and verdict lines.
type Printer struct {
	w       io.Writer
	tty     bool
	colour  bool
	verbose bool
	log     io.Writer // every line, detail included, without colour

	mu      sync.Mutex // lines come from a Progress's goroutine too
	live    *Progress  // the progress whose line is drawn last, on a terminal
	firstOK string
}

// Option configures a Printer.
type Option func(*Printer)

// WithColour forces colour on or off.
func WithColour(on bool) Option { return func(p *Printer) { p.colour = on } }

// WithLog also writes every line, detail included, to w with a timestamp.
func WithLog(w io.Writer) Option { return func(p *Printer) { p.log = w } }

// WithVerbose forces detail lines on or off.
func WithVerbose(on bool) Option { return func(p *Printer) { p.verbose = on } }

// New returns a Printer on w. Colour is on when w is a terminal and NO_COLOR is
// unset; detail follows mage's -v.
func New(w io.Writer, opts ...Option) *Printer {
	tty := isTerminal(w)
	p := &Printer{w: w, tty: tty, colour: tty && os.Getenv("NO_COLOR") == "", verbose: mg.Verbose()}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Quiet returns a Printer that writes only to p's run log: for output a
// program parses, such as a JSON document.
func (p *Printer) Quiet() *Printer { return &Printer{w: io.Discard, log: p.log} }

// Stdout is a Printer on standard output with the defaults of New.
func Stdout() *Printer { return New(os.Stdout) }

// IsTerminal reports whether f is a terminal (for output, or for input such
// as menus and confirmations).
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && IsTerminal(f)
}

const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

func (p *Printer) paint(colour, s string) string {
	if !p.colour {
		return s
	}
	return colour + s + reset
}

func (p *Printer) line(mark, colour, format string, args []any) {
	text := fmt.Sprintf(format, args...)
	p.print(fmt.Sprintf("%s %s\n", p.paint(colour, mark), text))
	p.record(mark, text)
}

// print writes whole lines above the live progress line, if one is drawn.
func (p *Printer) print(lines string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live != nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprint(p.w, lines)
	if p.live != nil {
		fmt.Fprintf(p.w, "  %s", p.live.status())
	}
}

// setLive makes pr the live line (nil clears it).
func (p *Printer) setLive(pr *Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live != nil && pr == nil {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	p.live = pr
}

// redraw draws the live line again.
func (p *Printer) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live != nil {
		fmt.Fprintf(p.w, "\r\x1b[K  %s", p.live.status())
	}
}

// record appends a line to the log, if any.
func (p *Printer) record(mark, text string) {
	if p.log == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.log, "%s %s %s\n", time.Now().Format(time.RFC3339), mark, text)
}

// Step announces work that is starting.
func (p *Printer) Step(format string, args ...any) { p.line("•", dim, format, args) }

// OK reports work that succeeded.
func (p *Printer) OK(format string, args ...any) {
	p.mu.Lock()
	if p.firstOK == "" {
		p.firstOK = fmt.Sprintf(format, args...)
	}
	p.mu.Unlock()
	p.line("✓", green, format, args)
}

// FirstOK is the first success reported: what a run was for (a backup's
// line, not the prune that followed it), for a notification.
func (p *Printer) FirstOK() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstOK
}

// Warn reports something a user should know that did not stop the work.
func (p *Printer) Warn(format string, args ...any) { p.line("!", yellow, format, args) }

// Fail reports work that failed.
func (p *Printer) Fail(format string, args ...any) { p.line("✗", red, format, args) }

// Next tells the user the exact command to type next.
func (p *Printer) Next(command string) {
	p.print(fmt.Sprintf("  next: %s\n", p.paint(yellow, command)))
	p.record(" ", "next: "+command)
}

// Nexter is an error that knows the command a user should run next; it wins
// over the target's own suggestion.
type Nexter interface{ Next() string }

// NextOf is the command err says to run next, or "".
func NextOf(err error) string {
	var n Nexter
	if errors.As(err, &n) {
		return n.Next()
	}
	return ""
}

// Explainer is an error with more to show than one line (a service's last
// log lines), printed indented under the failure line.
type Explainer interface{ Explain() string }

// Failed prints err as a failure line and the command to run next (if any),
// and returns the error a target returns to mage: exit status 130 when the
// work was interrupted (Ctrl-C cancels a target's context), 1 otherwise.
func (p *Printer) Failed(target string, err error, next string) error {
	if errors.Is(err, context.Canceled) {
		if n := NextOf(err); n != "" { // an interruption with something to say
			p.Fail("%v", err)
			p.Next(n)
		} else {
			p.Fail("interrupted")
		}
		return mg.Fatalf(130, "%s interrupted", target)
	}
	p.Fail("%v", err)
	var ex Explainer
	if errors.As(err, &ex) {
		for _, line := range strings.Split(strings.TrimRight(ex.Explain(), "\n"), "\n") {
			p.print(fmt.Sprintf("    %s\n", line))
			p.record(" ", line)
		}
	}
	if n := NextOf(err); n != "" {
		next = n
	}
	if next != "" {
		p.Next(next)
	}
	return mg.Fatalf(1, "%s failed", target)
}

// Table prints rows as aligned columns; the first row is the header.
func (p *Printer) Table(rows [][]string) {
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// Writer is where the Printer writes, for output it does not format.
func (p *Printer) Writer() io.Writer { return p.w }

// Verbose reports whether detail lines are printed.
func (p *Printer) Verbose() bool { return p.verbose }

// Detail prints a line only with -v.
func (p *Printer) Detail(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if p.verbose {
		p.print(fmt.Sprintf("  %s\n", p.paint(dim, text)))
	}
	p.record(" ", text)
}

// DetailWriter is where streamed detail (a child process's output) goes: the
// terminal with -v, nowhere otherwise.
func (p *Printer) DetailWriter() io.Writer {
	if p.verbose {
		return p.w
	}
	return io.Discard
}

// Plural counts for people: "1 table", "2 tables".
func Plural[N int | int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Duration formats d for people: 850ms, 4.2s, 1m12s.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
