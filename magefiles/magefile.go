//go:build mage

// stevedore runs the team's local Docker Compose stack and keeps its PostgreSQL data safe.
package main

import (
	"context"

	// mage:import
	_ "github.com/stevedore-dev/stevedore/tasks"
	"github.com/stevedore-dev/stevedore/tasks/selftest"
)

// Test checks the Docker engine, builds the test images, then runs go vet and every test with the race detector.
func Test(ctx context.Context) error {
	return selftest.Run(ctx)
}

// Bench measures the db targets against the old scripts and pg_dump's and psql's own work (0.6 GB and 4 GB databases), the two data paths against docker exec pg_dump, and env:up against docker compose, side by side, and prints the ratios.
func Bench(ctx context.Context) error {
	return selftest.Bench(ctx)
}
