package images_test

import (
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
)

// The project's PostgreSQL image, started the way every other test starts it.
func TestPostgresImageServesVersion15(t *testing.T) {
	pg := pgtest.Start(t)
	var version string
	require.NoError(t, pg.Connect(t).QueryRow(t.Context(), "SELECT version()").Scan(&version))
	assert.True(t, strings.HasPrefix(version, "PostgreSQL 15."), version)
}

// The official postgres image's contract, which compose files and
// testcontainers' postgres module rely on: POSTGRES_USER / _PASSWORD / _DB,
// /docker-entrypoint-initdb.d (.sql and .sh), extra `-c` arguments, and
// password authentication over TCP.
func TestPostgresImageHonoursTheOfficialContract(t *testing.T) {
	pg := pgtest.Start(t,
		postgres.WithOrderedInitScripts("testdata/initdb/01-schema.sql", "testdata/initdb/02-role.sh"),
		testcontainers.WithCmdArgs("-c", "max_connections=42", "-c", "application_name=contract"),
	)
	conn := pg.Connect(t)
	ctx := t.Context()

	var user, db, maxConns, fsync, greeting, encoding string
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_user, current_database(),
		current_setting('max_connections'), current_setting('fsync'),
		(SELECT text FROM greeting WHERE id = 1), current_setting('server_encoding')`).
		Scan(&user, &db, &maxConns, &fsync, &greeting, &encoding))
	assert.Equal(t, pg.User, user, "POSTGRES_USER")
	assert.Equal(t, pg.Database, db, "POSTGRES_DB")
	assert.Equal(t, "42", maxConns, "-c max_connections")
	assert.Equal(t, "off", fsync, "the module's own -c fsync=off")
	assert.Equal(t, "hello from initdb.d", greeting, ".sql init script")
	assert.Equal(t, "UTF8", encoding)

	var roles int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = 'from_shell_script'`).Scan(&roles))
	assert.Equal(t, 1, roles, ".sh init script")

	wrong := strings.Replace(pg.DSN, pg.Password, "not-the-password", 1)
	_, err := pgx.Connect(ctx, wrong)
	require.Error(t, err, "a wrong password must be refused over TCP")
	assert.Contains(t, err.Error(), "password authentication failed")
}

// Without a password and without trust the official image refuses to start;
// so must ours, or a misconfigured stack would run wide open.
func TestPostgresImageRefusesToStartWithoutPassword(t *testing.T) {
	eng := pgtest.RequireDocker(t)
	pgtest.RequireImage(t, eng, "postgres:15-bookworm")
	c, err := testcontainers.Run(t.Context(), "postgres:15-bookworm",
		testcontainers.WithEnv(map[string]string{"POSTGRES_USER": "u"}),
		testcontainers.WithWaitStrategy(wait.ForExit()),
	)
	testcontainers.CleanupContainer(t, c)
	require.NoError(t, err)
	state, err := c.State(t.Context())
	require.NoError(t, err)
	assert.NotZero(t, state.ExitCode)
	logs, err := c.Logs(t.Context())
	require.NoError(t, err)
	text, _ := io.ReadAll(logs)
	assert.Contains(t, string(text), "superuser password is not specified")
}
