package term

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is an io.Writer that counts the bytes of long work and, on a
// terminal, redraws one line with the count and rate a few times a second.
// Off a terminal it only counts.
type Progress struct {
	p     *Printer
	label string
	n     atomic.Int64
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
}

// Progress starts a progress line for label ("dumping", "restoring").
func (p *Printer) Progress(label string) *Progress {
	pr := &Progress{p: p, label: label, start: time.Now(), stop: make(chan struct{})}
	if !p.tty {
		return pr
	}
	pr.done.Add(1)
	go func() {
		defer pr.done.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pr.stop:
				fmt.Fprint(p.w, "\r\x1b[K")
				return
			case <-tick.C:
				fmt.Fprintf(p.w, "\r\x1b[K  %s %s", pr.label, pr.status())
			}
		}
	}()
	return pr
}

func (pr *Progress) status() string {
	n := pr.n.Load()
	secs := time.Since(pr.start).Seconds()
	if secs <= 0 {
		return Bytes(n)
	}
	return fmt.Sprintf("%s (%s/s)", Bytes(n), Bytes(int64(float64(n)/secs)))
}

func (pr *Progress) Write(b []byte) (int, error) {
	pr.n.Add(int64(len(b)))
	return len(b), nil
}

// Done clears the progress line.
func (pr *Progress) Done() {
	select {
	case <-pr.stop:
	default:
		close(pr.stop)
	}
	pr.done.Wait()
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
