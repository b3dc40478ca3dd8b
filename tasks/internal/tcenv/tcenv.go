// Package tcenv holds the testcontainers-go settings this project's machines
// need, shared by the test target and the tests themselves.
package tcenv

import (
	"os"
	"testing"
)

// SessionLabel is the label testcontainers puts on every container of a run,
// valued with TESTCONTAINERS_SESSION_ID.
const SessionLabel = "org.testcontainers.sessionId"

// Defaults are the settings tests need where no registry can be reached and
// the machine looks like a container (it has /.dockerenv):
//   - Ryuk's image cannot be pulled, so it is off ("true" is the only value
//     that turns it off) and each test removes its own containers;
//   - testcontainers would otherwise dial the default gateway and time out.
func Defaults() map[string]string {
	return map[string]string{
		"TESTCONTAINERS_RYUK_DISABLED": "true",
		"TESTCONTAINERS_HOST_OVERRIDE": "localhost",
	}
}

// Apply sets each default the environment does not set already, so a plain
// `go test ./...` behaves like `go tool mage test`.
func Apply() {
	for k, v := range Defaults() {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
}

// Unavailable ends a test that needs what this machine lacks (the engine,
// a server the harness could not build, cron): a skip on a developer's
// machine, a failure under CI=true, where a skipped test would let a run
// pass having tested nothing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
