// Package pgtest starts the project's PostgreSQL image for a test with
// testcontainers-go and removes it when the test ends, pass or fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
)

// Postgres is a throwaway PostgreSQL server owned by one test.
type Postgres struct {
	Container *postgres.PostgresContainer
	DSN       string // TCP connection string from the host
	User      string
	Password  string
	Database  string
}

// RequireDocker returns the Docker engine, or ends t when there is none: a
// skip on a developer's machine, a failure under CI=true, where a skipped
// container test would let a run pass having tested nothing.
func RequireDocker(t testing.TB) *engine.Engine {
	t.Helper()
	tcenv.Apply()
	eng, err := engine.Connect(t.Context())
	if err != nil {
		tcenv.Unavailable(t, "container test skipped: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// RequireImage ends t when ref is not on the engine, naming the command
// that builds it.
func RequireImage(t testing.TB, eng *engine.Engine, ref string) {
	t.Helper()
	if _, err := eng.ImageInspect(t.Context(), ref); err != nil {
		t.Fatalf("image %s is not on the engine (%v): run `go tool mage images:build`", ref, err)
	}
}

// Start runs the project's PostgreSQL image for t with a fresh user,
// password and database; opts customise the container further.
func Start(t testing.TB, opts ...testcontainers.ContainerCustomizer) *Postgres {
	t.Helper()
	eng := RequireDocker(t)
	RequireImage(t, eng, images.Postgres.Ref)
	p := &Postgres{User: "stevedore", Password: rand.Text(), Database: "app"}
	all := append([]testcontainers.ContainerCustomizer{
		postgres.WithUsername(p.User),
		postgres.WithPassword(p.Password),
		postgres.WithDatabase(p.Database),
		postgres.BasicWaitStrategies(),
		// Container lifecycle lines only when the test fails or with -v.
		testcontainers.WithLogger(tclog.TestLogger(t)),
	}, opts...)
	c, err := postgres.Run(t.Context(), images.Postgres.Ref, all...)
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatalf("start %s: %v", images.Postgres.Ref, err)
	}
	p.Container = c
	p.DSN, err = c.ConnectionString(t.Context(), "sslmode=disable")
	if err != nil {
		t.Fatalf("connection string: %v", err)
	}
	return p
}

// Connect opens a pgx connection to p's database, closed when t ends.
func (p *Postgres) Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	return p.ConnectTo(t, "")
}

// ConnectTo opens a pgx connection to database name ("": the container's
// own) on p's server, closed when t ends.
func (p *Postgres) ConnectTo(t testing.TB, name string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(p.DSN)
	if err != nil {
		t.Fatalf("parse %s: %v", p.DSN, err)
	}
	if name != "" {
		cfg.Database = name
	}
	name = cfg.Database
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("connect to %s on %s: %v", name, p.Container.GetContainerID()[:12], err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
