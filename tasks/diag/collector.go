package diag

import (
	"context"
	"sync"
	"time"
)

// collector gathers checks from concurrent goroutines.
type collector struct {
	mu       sync.Mutex
	checks   []Check
	services map[string]ServiceReport
	wg       sync.WaitGroup
}

// run runs fn in its own goroutine with its own timeout and records its check.
func (c *collector) run(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) Check) {
	c.runAll(ctx, timeout, func(ctx context.Context) []Check { return []Check{fn(ctx)} })
}

// runAll is run for a function that makes several checks.
func (c *collector) runAll(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) []Check) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		for _, ch := range fn(cctx) {
			if ch.TookMS == 0 {
				ch.TookMS = time.Since(start).Milliseconds()
			}
			c.add(ch)
		}
	}()
}

func (c *collector) add(ch Check) {
	c.mu.Lock()
	c.checks = append(c.checks, ch)
	c.mu.Unlock()
}

func (c *collector) service(name string, s ServiceReport) {
	c.mu.Lock()
	c.services[name] = s
	c.mu.Unlock()
}
