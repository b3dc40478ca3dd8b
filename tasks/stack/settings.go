// Package stack is what the env:* targets do: bring the compose stack up
// healthy, down (after a backup), back, and report on it. Compose starts and
// stops containers; their state, health and logs come from the Engine API,
// and readiness is proven by each service's own healthcheck and probe.
package stack

// Labels a compose file may put on its services for stevedore; the
// services block of x-stevedore says the same without touching a service.
const (
	LabelMode  = "dev.stevedore.mode"  // the mode the container was started in
	LabelProbe = "dev.stevedore.probe" // an http(s) URL answering 200 when the service is ready
	LabelURLs  = "dev.stevedore.urls"  // space-separated URLs to show people
	// LabelChecks lists further URLs the doctor checks: each must answer 200,
	// and those ending in .json must hold valid JSON.
	LabelChecks = "dev.stevedore.checks"
)
