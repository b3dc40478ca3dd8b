package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
)

// pollEvery is how often readiness is polled while a stack starts.
const pollEvery = 200 * time.Millisecond

// waitReady polls the engine and the probes until every expected service is
// ready, one fails, or the deadline (timeout after the start) passes.
func waitReady(ctx context.Context, eng *engine.Engine, s settings.Settings, expected []string, deadline time.Time, timeout time.Duration) ([]Service, error) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		services, err := Observe(ctx, eng, s)
		if err != nil {
			return nil, err
		}
		verdicts := Judge(expected, services, ProbeAll(ctx, services))
		var pending []Readiness
		for _, r := range verdicts {
			if r.Failed {
				return nil, notReady(ctx, eng, services, r)
			}
			if !r.Ready {
				pending = append(pending, r)
			}
		}
		if len(pending) == 0 {
			return services, nil
		}
		if time.Now().After(deadline) {
			r := pending[0]
			r.Why = fmt.Sprintf("%s (waited %s)", r.Why, timeout)
			return nil, notReady(ctx, eng, services, r)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func notReady(ctx context.Context, eng *engine.Engine, services []Service, r Readiness) error {
	e := &NotReadyError{Service: r.Service, Why: r.Why}
	for _, s := range services {
		if s.Name == r.Service {
			e.Logs, _ = tailLogs(ctx, eng, s.ID, 15)
		}
	}
	return e
}
