package diag

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/settings"
)

func TestJudgeDatabaseMigrations(t *testing.T) {
	base := databaseFacts{where: "db-1", name: "app", version: "15.8 (Debian)", size: 8e6, conns: 3, maxConns: 100}
	cases := []struct {
		name       string
		migrations *migrationFacts
		status     Status
		summary    string
	}{
		{name: "no check declared", status: OK, summary: "database app: SELECT 1 ok, PostgreSQL 15.8, 8.0 MB, 3/100 connections"},
		{name: "at the latest", migrations: &migrationFacts{current: "3", latest: "3"}, status: OK, summary: ", migrations at 3 of 3"},
		{name: "numbers compared as numbers", migrations: &migrationFacts{current: "3", latest: "003"}, status: OK, summary: "migrations at 3 of 003"},
		{name: "behind", migrations: &migrationFacts{current: "2", latest: "3", next: "make migrate"}, status: Fail, summary: "migrations at 2 of 3 (behind)"},
		{name: "never ran", migrations: &migrationFacts{err: errors.New(`relation "schema_migrations" does not exist`), next: "make migrate"}, status: Warn, summary: "the migrations never ran"},
		{name: "alembic head, nothing to compare", migrations: &migrationFacts{current: "ae1027a6acf"}, status: OK, summary: "migrations at ae1027a6acf"},
		{name: "nothing applied", migrations: &migrationFacts{current: "<nil>"}, status: Warn, summary: "no migration applied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := base
			f.migrations = c.migrations
			ch := judgeDatabase(Check{ID: "database"}, f)
			assert.Equal(t, c.status, ch.Status)
			assert.Contains(t, ch.Summary, c.summary)
			if c.migrations != nil && c.status != OK {
				assert.Equal(t, c.migrations.next, ch.Next)
			}
		})
	}
}

// Snapshots are named for what they are wherever they show.
func TestJudgeDatabaseSaysSnapshotsAreNotBackups(t *testing.T) {
	f := databaseFacts{name: "app", version: "15.8", size: 8e6, conns: 3, maxConns: 100, snapshots: 2, snapshotBytes: 16e6}
	ch := judgeDatabase(Check{ID: "database"}, f)
	assert.Equal(t, OK, ch.Status)
	assert.Contains(t, ch.Summary, "; 2 snapshots (16.0 MB) on the same server, not backups")
	assert.Equal(t, "2", ch.Details["snapshots"])
	f.snapshots = 0
	assert.NotContains(t, judgeDatabase(Check{ID: "database"}, f).Summary, "snapshot")
}

func TestLatestMigrationFromFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"001_init.sql", "002_items.sql", "10_more.up.sql", "README.md", "x_7.sql"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	assert.Equal(t, "10", latestMigration(filepath.Join(dir, "*.sql")))
	assert.Equal(t, "", latestMigration(filepath.Join(dir, "*.none")))

	f := readMigrations(&settings.Migrations{Query: "q", Files: filepath.Join(dir, "*.sql")}, func() (string, error) { return "10", nil })
	assert.Equal(t, "10", f.latest)
	assert.Equal(t, "go tool mage env:restart", f.next, "the default next step")
}
