package tasks_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
)

// TestMain makes the run a test session (its temporary folders, and so its
// stacks' working folders, beneath one folder) and sweeps what the tests
// left on the engine when they end: passed, failed or interrupted.
func TestMain(m *testing.M) {
	tcenv.Apply()
	ours := os.Getenv(tcenv.SessionEnv) == "" // else `go tool mage test`'s, which removes it
	id, dir := tcenv.Session()
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-interrupted
		sweepSession(id, dir)
		if ours {
			os.RemoveAll(dir)
		}
		os.Exit(130)
	}()
	code := m.Run()
	signal.Stop(interrupted)
	sweepSession(id, dir)
	if ours {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func sweepSession(id, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := engine.Connect(ctx)
	if err != nil {
		return // no engine: nothing can have been left on it
	}
	defer eng.Close()
	if swept, err := tcenv.Sweep(ctx, eng, id, dir); err != nil || swept != (tcenv.Swept{}) {
		fmt.Fprintf(os.Stderr, "swept what the tests left: %v %v\n", swept, err)
	}
}
