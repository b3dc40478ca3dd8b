package diag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
)

// A migrations check given as a command (alembic check, say) runs in its
// service's real container: exit 0 passes, anything else fails with the
// command's last line and the project's next step.
func TestMigrationCommandRunsInTheServiceContainer(t *testing.T) {
	eng := pgtest.RequireDocker(t)
	pg := pgtest.Start(t)
	svc := stack.Service{Name: "api", ID: pg.Container.GetContainerID(), State: "running"}

	ch := checkMigrationCommand(t.Context(), eng, svc, settings.Migrations{Command: []string{"psql", "--version"}, Service: "api"})
	assert.Equal(t, OK, ch.Status, ch.Summary)
	assert.Equal(t, "migrations current: `psql --version` passed in api", ch.Summary)

	behind := settings.Migrations{Command: []string{"sh", "-c", "echo checking; echo 'Target database is not up to date.' >&2; exit 255"}, Service: "api", Next: "alembic upgrade head"}
	ch = checkMigrationCommand(t.Context(), eng, svc, behind)
	require.Equal(t, Fail, ch.Status)
	assert.Contains(t, ch.Summary, "exited 255: Target database is not up to date.")
	assert.Equal(t, "alembic upgrade head", ch.Next)

	ch = checkMigrationCommand(t.Context(), eng, svc, settings.Migrations{Command: []string{"no-such-tool"}, Service: "api"})
	assert.Equal(t, Fail, ch.Status, "a missing tool is a failed check, not a pass: %s", ch.Summary)
}
