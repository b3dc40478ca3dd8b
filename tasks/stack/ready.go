package stack

import (
	"fmt"
)

// Readiness is the verdict on one expected service.
type Readiness struct {
	Service string
	Ready   bool
	Failed  bool
	Why     string // why it is not ready, or why it failed
}

// crashLoop is the restart count from which a restarting service has failed.
const crashLoop = 3

// Judge decides, for each expected service, whether it is ready, still
// coming, or failed, from the engine's view and the probe results (nil:
// passed; services without a probe have no entry). A one-shot service that
// exited 0 counts as done; a container without a healthcheck counts once
// running, and then only if its probe (if any) passes.
func Judge(expected []string, observed []Service, probes map[string]error) []Readiness {
	by := map[string]Service{}
	for _, s := range observed {
		by[s.Name] = s
	}
	out := make([]Readiness, 0, len(expected))
	for _, name := range expected {
		r := Readiness{Service: name}
		s, ok := by[name]
		switch {
		case !ok:
			r.Why = "no container yet"
		case s.State == "exited" && s.ExitCode == 0:
			r.Ready, r.Why = true, "done (exited 0)"
		case s.State == "exited" || s.State == "dead":
			r.Failed, r.Why = true, fmt.Sprintf("exited with code %d", s.ExitCode)
		case s.State == "restarting" && s.RestartCount >= crashLoop:
			r.Failed, r.Why = true, fmt.Sprintf("restarting again and again (%d restarts)", s.RestartCount)
		case s.State != "running":
			r.Why = s.State
		case s.Health == "unhealthy":
			r.Failed, r.Why = true, "unhealthy"
		case s.Health == "starting":
			r.Why = "health check starting"
		default:
			if err, probed := probes[name]; probed && err != nil {
				r.Why = "probe: " + err.Error()
			} else {
				r.Ready = true
			}
		}
		out = append(out, r)
	}
	return out
}
