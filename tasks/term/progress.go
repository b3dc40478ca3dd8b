package term

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Progress follows long work through its phases ("loading data", then
// "building indexes and constraints", …). As an io.Writer it counts the
// bytes of the current phase. On a terminal it redraws one line a few times
// a second: bytes of the total, percentage and rate, or the time a phase
// without bytes has taken. Every phase's start and end (and, off a
// terminal, each tenth of a phase with a known total) is also a detail line,
// so -v and the run log tell the same story without a terminal.
type Progress struct {
	p *Printer

	mu    sync.Mutex
	label string
	total int64
	start time.Time
	next  int64 // off a terminal: the count at which the next tenth is told

	n    atomic.Int64
	stop chan struct{}
	done sync.WaitGroup
}

// Progress starts following work whose first phase is label.
func (p *Printer) Progress(label string) *Progress {
	pr := &Progress{p: p, stop: make(chan struct{})}
	pr.begin(label, 0)
	if !p.tty {
		return pr
	}
	p.setLive(pr)
	pr.done.Add(1)
	go func() {
		defer pr.done.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pr.stop:
				p.setLive(nil)
				return
			case <-tick.C:
				p.redraw()
			}
		}
	}()
	return pr
}

// Phase ends the current phase and begins the next; total is the bytes it
// will count, 0 when unknown or when it counts none.
func (pr *Progress) Phase(label string, total int64) {
	pr.end()
	pr.begin(label, total)
}

func (pr *Progress) begin(label string, total int64) {
	pr.mu.Lock()
	pr.label, pr.total, pr.start, pr.next = label, total, time.Now(), total/10
	pr.mu.Unlock()
	pr.n.Store(0)
	if total > 0 {
		pr.p.Detail("%s: %s…", label, Bytes(total))
	} else {
		pr.p.Detail("%s…", label)
	}
}

func (pr *Progress) end() {
	pr.mu.Lock()
	label, took := pr.label, time.Since(pr.start)
	pr.mu.Unlock()
	if n := pr.n.Load(); n > 0 {
		pr.p.Detail("%s: done, %s in %s (%s/s)", label, Bytes(n), Duration(took), Bytes(int64(float64(n)/max(took.Seconds(), 1e-3))))
	} else {
		pr.p.Detail("%s: done in %s", label, Duration(took))
	}
}

// status is the live line.
func (pr *Progress) status() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	n, took := pr.n.Load(), time.Since(pr.start)
	switch {
	case pr.total > 0:
		return fmt.Sprintf("%s %s of %s, %d%% (%s/s)", pr.label, Bytes(n), Bytes(pr.total), min(100, n*100/pr.total), rate(n, took))
	case n > 0:
		return fmt.Sprintf("%s %s (%s/s)", pr.label, Bytes(n), rate(n, took))
	}
	return fmt.Sprintf("%s %s", pr.label, took.Round(time.Second))
}

func rate(n int64, d time.Duration) string {
	return Bytes(int64(float64(n) / max(d.Seconds(), 1e-3)))
}

func (pr *Progress) Write(b []byte) (int, error) {
	n := pr.n.Add(int64(len(b)))
	if !pr.p.tty {
		pr.mu.Lock()
		tell := pr.total > 0 && pr.next > 0 && n >= pr.next && n < pr.total
		label, total := pr.label, pr.total
		for tell && pr.next <= n {
			pr.next += total / 10
		}
		pr.mu.Unlock()
		if tell {
			pr.p.Detail("%s: %d%% (%s of %s)", label, n*100/total, Bytes(n), Bytes(total))
		}
	}
	return len(b), nil
}

// Done ends the last phase and clears the live line. It may be called twice.
func (pr *Progress) Done() {
	select {
	case <-pr.stop:
		return
	default:
		close(pr.stop)
	}
	pr.done.Wait()
	pr.end()
}

// Bytes formats n bytes for people, in SI units: 950 B, 14.2 MB, 1.3 GB.
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
