package settings

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearEnv unsets every variable that could steer a load, for this test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"COMPOSE_FILE", "COMPOSE_PATH_SEPARATOR", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES",
		"STEVEDORE_COMPOSE_DIR", "STEVEDORE_PROJECT", "STEVEDORE_DB_SERVICE", "STEVEDORE_BACKUP_DIR", "STEVEDORE_KEEP",
		"STEVEDORE_REPORT_DIR", "STEVEDORE_STATE_DIR", "STEVEDORE_ENV_FILE", "STEVEDORE_MODE", "STEVEDORE_DB_CONTAINER",
		"STEVEDORE_TARGET", "STEVEDORE_BACKUP_MAX_AGE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// repo makes a folder of files (name: content) and moves into it.
func repo(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	t.Chdir(dir)
	return dir
}

const minimal = "services:\n  db:\n    image: postgres:15-alpine\n"

func TestDiscoverFindsFilesAsComposeDoes(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		env   map[string]string
		wd    string
		want  []string
		how   string
	}{
		{name: "compose.yaml and its override", files: map[string]string{"compose.yaml": minimal, "compose.override.yaml": minimal, "docker-compose.yml": minimal},
			want: []string{"compose.yaml", "compose.override.yaml"}, how: "found compose.yaml and compose.override.yaml"},
		{name: "docker-compose.yaml alone", files: map[string]string{"docker-compose.yaml": minimal},
			want: []string{"docker-compose.yaml"}, how: "found docker-compose.yaml"},
		{name: "the compose folder", files: map[string]string{"compose/docker-compose.yml": minimal},
			want: []string{"compose/docker-compose.yml"}, how: "found docker-compose.yml"},
		{name: "a parent folder", files: map[string]string{"compose.yml": minimal, "src/app/main.go": ""}, wd: "src/app",
			want: []string{"compose.yml"}, how: "found compose.yml"},
		{name: "COMPOSE_FILE, colon separated", files: map[string]string{"ops/base.yml": minimal, "ops/dev.yml": minimal, "compose.yaml": minimal},
			env: map[string]string{"COMPOSE_FILE": "ops/base.yml:ops/dev.yml"}, want: []string{"ops/base.yml", "ops/dev.yml"}, how: "COMPOSE_FILE"},
		{name: "COMPOSE_FILE with COMPOSE_PATH_SEPARATOR", files: map[string]string{"a.yml": minimal, "b.yml": minimal},
			env: map[string]string{"COMPOSE_FILE": "a.yml;b.yml", "COMPOSE_PATH_SEPARATOR": ";"}, want: []string{"a.yml", "b.yml"}, how: "COMPOSE_FILE"},
		{name: "STEVEDORE_COMPOSE_DIR", files: map[string]string{"deploy/compose.yaml": minimal, "compose.yaml": minimal},
			env: map[string]string{"STEVEDORE_COMPOSE_DIR": "deploy"}, want: []string{"deploy/compose.yaml"}, how: "STEVEDORE_COMPOSE_DIR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			root := repo(t, c.files)
			root, _ = filepath.EvalSymlinks(root)
			t.Chdir(filepath.Join(root, c.wd))
			f, err := Discover(".")
			require.NoError(t, err)
			var got []string
			for _, p := range f.Files {
				rel, _ := filepath.Rel(root, p)
				got = append(got, rel)
			}
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.how, f.How)
			assert.Equal(t, filepath.Dir(f.Files[0]), f.Dir)
		})
	}

	t.Run("nothing found", func(t *testing.T) {
		clearEnv(t)
		repo(t, map[string]string{"README.md": "hi"})
		_, err := Discover(".")
		var none *NoComposeError
		require.ErrorAs(t, err, &none)
		assert.Contains(t, err.Error(), "looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml")
		assert.Equal(t, "go tool mage env:init", none.Next())
	})
	t.Run("COMPOSE_FILE naming a missing file", func(t *testing.T) {
		clearEnv(t)
		repo(t, map[string]string{"compose.yaml": minimal})
		t.Setenv("COMPOSE_FILE", "nope.yml")
		_, err := Discover(".")
		assert.ErrorContains(t, err, "COMPOSE_FILE names")
	})
}

// withExt is a Compose file whose x-stevedore block sets every setting it can.
const withExt = `x-stevedore:
  project: fromext
  database: store
  backups: ext-backups
  reports: ext-reports
  keep: 4
  default_mode: dev
  modes:
    dev: {files: [dev.yml], profiles: [debug]}
    prod: {}
services:
  store:
    image: postgres:15-alpine
  db:
    image: example/db:1
  tool:
    image: busybox
    profiles: [debug]
`

func TestPrecedenceOfEverySetting(t *testing.T) {
	keep7 := 7
	type source int
	const (
		fromFlag source = iota
		fromEnv
		fromMagefile
		fromExt
		fromDefault
	)
	cases := []struct {
		setting string
		flag    Overrides
		env     string // variable
		envVal  string
		mage    Overrides
		get     func(Settings) any
		want    map[source]any // value expected when that source is the highest given
	}{
		{setting: "project", flag: Overrides{Project: "fromflag"}, env: "STEVEDORE_PROJECT", envVal: "fromenv", mage: Overrides{Project: "frommage"},
			get: func(s Settings) any { return s.Project }, want: map[source]any{fromFlag: "fromflag", fromEnv: "fromenv", fromMagefile: "frommage", fromExt: "fromext"}},
		{setting: "database", flag: Overrides{DBService: "db"}, env: "STEVEDORE_DB_SERVICE", envVal: "tool", mage: Overrides{DBService: "db"},
			get: func(s Settings) any { return s.DBService }, want: map[source]any{fromFlag: "db", fromEnv: "tool", fromMagefile: "db", fromExt: "store"}},
		{setting: "backups", flag: Overrides{BackupDir: "f"}, env: "STEVEDORE_BACKUP_DIR", envVal: "e", mage: Overrides{BackupDir: "m"},
			get: func(s Settings) any { return s.BackupDir }, want: map[source]any{fromFlag: "f", fromEnv: "e", fromMagefile: "m", fromExt: "ext-backups", fromDefault: DefaultBackupDir}},
		{setting: "reports", flag: Overrides{ReportDir: "f"}, env: "STEVEDORE_REPORT_DIR", envVal: "e", mage: Overrides{ReportDir: "m"},
			get: func(s Settings) any { return s.ReportDir }, want: map[source]any{fromFlag: "f", fromEnv: "e", fromMagefile: "m", fromExt: "ext-reports", fromDefault: DefaultReportDir}},
		{setting: "state", flag: Overrides{StateDir: "f"}, env: "STEVEDORE_STATE_DIR", envVal: "e", mage: Overrides{StateDir: "m"},
			get: func(s Settings) any { return s.StateDir }, want: map[source]any{fromFlag: "f", fromEnv: "e", fromMagefile: "m", fromDefault: DefaultStateDir}},
		{setting: "keep", flag: Overrides{Keep: &keep7}, env: "STEVEDORE_KEEP", envVal: "5", mage: Overrides{Keep: new(int)},
			get: func(s Settings) any { return s.Keep }, want: map[source]any{fromFlag: 7, fromEnv: 5, fromMagefile: 0, fromExt: 4, fromDefault: DefaultKeep}},
		{setting: "mode", flag: Overrides{Mode: "prod"}, env: "STEVEDORE_MODE", envVal: "prod", mage: Overrides{Mode: "prod"},
			get: func(s Settings) any { return s.Mode }, want: map[source]any{fromFlag: "prod", fromEnv: "prod", fromMagefile: "prod", fromExt: "dev"}},
		{setting: "container", flag: Overrides{Container: "f"}, env: "STEVEDORE_DB_CONTAINER", envVal: "e", mage: Overrides{Container: "m"},
			get: func(s Settings) any { return s.Container }, want: map[source]any{fromFlag: "f", fromEnv: "e", fromMagefile: "m", fromDefault: ""}},
		{setting: "backup_max_age", flag: Overrides{MaxAge: time.Hour}, env: "STEVEDORE_BACKUP_MAX_AGE", envVal: "2h", mage: Overrides{MaxAge: 3 * time.Hour},
			get: func(s Settings) any { return s.BackupMaxAge }, want: map[source]any{fromFlag: time.Hour, fromEnv: 2 * time.Hour, fromMagefile: 3 * time.Hour, fromDefault: DefaultMaxAge}},
	}
	for _, c := range cases {
		for _, top := range []source{fromFlag, fromEnv, fromMagefile, fromExt, fromDefault} {
			want, ok := c.want[top]
			if !ok {
				continue // this setting has no such source
			}
			t.Run(c.setting+"/"+[]string{"flag", "variable", "magefile", "x-stevedore", "default"}[top], func(t *testing.T) {
				clearEnv(t)
				file := withExt
				if top == fromDefault {
					file = minimal
				}
				repo(t, map[string]string{"compose.yaml": file, "dev.yml": "services:\n  tool:\n    environment: {DEBUG: '1'}\n"})
				var flags, mage Overrides
				if top <= fromFlag {
					flags = c.flag
				}
				if top <= fromEnv {
					t.Setenv(c.env, c.envVal)
				}
				if top <= fromMagefile {
					mage = c.mage
				}
				s, err := load(context.Background(), flags, mage, false)
				require.NoError(t, err)
				got := c.get(s)
				if str, isStr := got.(string); isStr && filepath.IsAbs(str) {
					got = filepath.Base(str)
				}
				assert.Equal(t, want, got)
				wantSource := []string{"flag", c.env, "magefile", ExtensionKey, "default"}[top]
				if c.setting != "container" || top != fromDefault {
					assert.Equal(t, wantSource, s.Sources[c.setting])
				}
			})
		}
	}
}

func TestModesAndProfiles(t *testing.T) {
	clearEnv(t)
	repo(t, map[string]string{"compose.yaml": withExt, "dev.yml": "services:\n  tool:\n    environment: {DEBUG: '1'}\n"})
	s, err := load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, "dev", s.Mode)
	assert.Len(t, s.Files, 2, "the mode's file laid over the base")
	assert.Equal(t, []string{"debug"}, s.Profiles, "the mode's profile")
	assert.Equal(t, []string{"db", "store", "tool"}, s.Active())
	tool, _ := s.Service("tool")
	assert.Equal(t, "1", *tool.Environment["DEBUG"], "the mode's file is loaded")

	s, err = load(context.Background(), Overrides{Mode: "prod", Profiles: []string{"extra"}}, Overrides{}, false)
	require.NoError(t, err)
	assert.Len(t, s.Files, 1)
	assert.Equal(t, []string{"db", "store"}, s.Active(), "tool is in a profile that is off")
	assert.Equal(t, []string{"debug"}, s.AllProfiles())

	t.Setenv("COMPOSE_PROFILES", "debug")
	s, err = load(context.Background(), Overrides{Mode: "prod"}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"debug"}, s.Profiles, "COMPOSE_PROFILES switches profiles on")

	_, err = load(context.Background(), Overrides{Mode: "staging"}, Overrides{}, false)
	assert.ErrorContains(t, err, `unknown mode "staging": use one of dev, prod`)
}

func TestProjectNameFollowsCompose(t *testing.T) {
	clearEnv(t)
	dir := repo(t, map[string]string{"compose.yaml": minimal})
	s, err := load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, filepath.Base(dir), s.Project, "the folder's name, as Compose names it")

	repo(t, map[string]string{"compose.yaml": "name: shop\n" + minimal})
	s, err = load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, "shop", s.Project)

	t.Setenv("COMPOSE_PROJECT_NAME", "fromcompose")
	s, err = load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, "fromcompose", s.Project)
	assert.Equal(t, "COMPOSE_PROJECT_NAME", s.Sources["project"])
	t.Setenv("STEVEDORE_PROJECT", "ours")
	s, _ = load(context.Background(), Overrides{}, Overrides{}, false)
	assert.Equal(t, "ours", s.Project, "STEVEDORE_PROJECT wins")
}

func TestTheSeed004FileAsWritten(t *testing.T) {
	clearEnv(t)
	t.Chdir("../testdata/repos/seed004")
	s, err := load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, "seed004", s.Project)
	assert.Equal(t, "db", s.DBService)
	assert.Equal(t, "inferred: the only service on a PostgreSQL image (postgres:15-alpine)", s.Sources["database"])
	assert.Equal(t, "", s.Mode, "no modes: it just runs")
	assert.Equal(t, "", s.EnvFile, "no .env: none is needed")
	assert.Equal(t, []string{"api", "db"}, s.Active())
	assert.Equal(t, []string{"tools"}, s.AllProfiles())
	assert.Nil(t, s.Migrations, "no migrations check unless declared")
	ports, err := s.Published(s.Active())
	require.NoError(t, err)
	assert.Equal(t, []PublishedPort{{"db", 5432, 5432}, {"api", 8000, 8000}}, ports)
}

func TestTheBundledStack(t *testing.T) {
	clearEnv(t)
	t.Chdir("../..")
	// Whether or not compose/.env exists yet: its x-stevedore block is read either way.
	t.Setenv("STEVEDORE_ENV_FILE", filepath.Join("compose", ".env.example"))
	s, err := load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	require.NoError(t, s.RequireCompose())
	assert.Equal(t, "stevedore", s.Project)
	assert.Equal(t, "db", s.DBService)
	assert.Equal(t, "debug", s.Mode)
	assert.Equal(t, filepath.Join("database", "backups"), s.BackupDir)
	require.Len(t, s.Files, 2)
	assert.Equal(t, "docker-compose.debug.yml", filepath.Base(s.Files[1]))
	require.NotNil(t, s.Migrations)
	assert.Equal(t, filepath.Join("compose", "api", "schema", "migrations", "*.sql"), s.Migrations.Files)
	assert.Equal(t, []string{"api", "db"}, s.Active())
	require.NotNil(t, s.Migrate)
	assert.Equal(t, Migrate{Service: "api", Up: []string{"/api", "-migrate=up"}, Down: []string{"/api", "-migrate=down"}}, *s.Migrate)
	require.NotNil(t, s.Seed)
	assert.Equal(t, Seed{Service: "api", Command: []string{"/api", "-seed"}}, *s.Seed)

	t.Setenv("STEVEDORE_ENV_FILE", filepath.Join(t.TempDir(), "missing.env"))
	s, err = load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.ErrorContains(t, s.ComposeErr, "POSTGRES_PASSWORD", "no settings file: the model cannot load")
	assert.Equal(t, "stevedore", s.Project, "yet x-stevedore is read")
	assert.Equal(t, "debug", s.Mode)
}

func TestExtensionRefusesTypos(t *testing.T) {
	clearEnv(t)
	repo(t, map[string]string{"compose.yaml": "x-stevedore:\n  databse: db\n" + minimal})
	_, err := load(context.Background(), Overrides{}, Overrides{}, false)
	assert.ErrorContains(t, err, "x-stevedore: unknown setting databse")

	repo(t, map[string]string{"compose.yaml": "x-stevedore:\n  migrations: {files: a/*.sql}\n" + minimal})
	_, err = load(context.Background(), Overrides{}, Overrides{}, false)
	assert.ErrorContains(t, err, "x-stevedore.migrations: give a query or a command")

	repo(t, map[string]string{"compose.yaml": "x-stevedore:\n  migrations: {command: [alembic, check]}\n" + minimal})
	_, err = load(context.Background(), Overrides{}, Overrides{}, false)
	assert.ErrorContains(t, err, "say which service the command runs in")

	for block, want := range map[string]string{
		"migrate: {up: [alembic, upgrade, head]}": "x-stevedore.migrate: give the service",
		"migrate: {service: api}":                 "x-stevedore.migrate: give the service",
		"seed: {service: api}":                    "x-stevedore.seed: give the service",
		"seed: {command: [x]}":                    "x-stevedore.seed: give the service",
		"migrate: {service: api, upp: [x]}":       "unknown setting upp",
	} {
		repo(t, map[string]string{"compose.yaml": "x-stevedore:\n  " + block + "\n" + minimal})
		_, err = load(context.Background(), Overrides{}, Overrides{}, false)
		assert.ErrorContains(t, err, want, block)
	}
}

// A magefile's Configure gives the commands too, over the x-stevedore block.
func TestMigrateCommandsFromTheMagefile(t *testing.T) {
	clearEnv(t)
	repo(t, map[string]string{"compose.yaml": "x-stevedore:\n  migrate: {service: api, up: [from-file]}\n" + minimal})
	s, err := load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"from-file"}, s.Migrate.Up)
	s, err = load(context.Background(), Overrides{}, Overrides{Migrate: &Migrate{Service: "web", Up: []string{"from-go"}}, Seed: &Seed{Service: "web", Command: []string{"seed"}}}, false)
	require.NoError(t, err)
	assert.Equal(t, "web", s.Migrate.Service)
	assert.Equal(t, []string{"from-go"}, s.Migrate.Up)
	assert.Equal(t, []string{"seed"}, s.Seed.Command)
	_, err = load(context.Background(), Overrides{}, Overrides{Migrate: &Migrate{Service: "web"}}, false)
	assert.ErrorContains(t, err, "settings.Configure.migrate: give the service")
	_, err = load(context.Background(), Overrides{}, Overrides{Seed: &Seed{Service: "web", Command: []string{""}}}, false)
	assert.ErrorContains(t, err, "settings.Configure.seed: give the service")
}

func TestEnvFileMadeFromExampleOnlyWhenAsked(t *testing.T) {
	clearEnv(t)
	file := "services:\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it}\n"
	dir := repo(t, map[string]string{"compose.yaml": file, ".env.example": "POSTGRES_PASSWORD=change-me\n"})
	s, err := load(context.Background(), Overrides{}, Overrides{}, false)
	require.NoError(t, err, "a broken model is not an error of the load")
	assert.ErrorContains(t, s.ComposeErr, "POSTGRES_PASSWORD")
	assert.NoFileExists(t, filepath.Join(dir, ".env"))

	s, err = load(context.Background(), Overrides{}, Overrides{}, true)
	require.NoError(t, err)
	require.NoError(t, s.RequireCompose())
	assert.True(t, s.EnvCreated)
	st, err := os.Stat(filepath.Join(dir, ".env"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the settings file holds secrets")
	db, _ := s.Service("db")
	assert.NotEqual(t, "change-me", *db.Environment["POSTGRES_PASSWORD"])
	assert.Len(t, *db.Environment["POSTGRES_PASSWORD"], 26)
}

func TestEnvFromExampleReplacesEveryPassword(t *testing.T) {
	example := "# settings\nPOSTGRES_USER=app\nPOSTGRES_PASSWORD=change-me\nPGADMIN_DEFAULT_PASSWORD=change-me\nAPI_PORT=8000\n"
	n := 0
	got := EnvFromExample(example, func() string { n++; return "secret" + string(rune('0'+n)) })
	assert.Equal(t, "# settings\nPOSTGRES_USER=app\nPOSTGRES_PASSWORD=secret1\nPGADMIN_DEFAULT_PASSWORD=secret2\nAPI_PORT=8000\n", got)
}

func TestInferDatabase(t *testing.T) {
	svc := func(image string, env ...string) types.ServiceConfig {
		var c types.ServiceConfig
		c.Image, c.Environment = image, types.MappingWithEquals{}
		for _, k := range env {
			v := "x"
			c.Environment[k] = &v
		}
		return c
	}
	cases := []struct {
		name     string
		services types.Services
		want     string
		err      string
	}{
		{name: "seed 004", services: types.Services{"api": svc("", "DATABASE_URL"), "db": svc("postgres:15-alpine"), "pgadmin": svc("dpage/pgadmin4:latest", "PGADMIN_DEFAULT_PASSWORD")}, want: "db"},
		{name: "registry path and digest", services: types.Services{"pg": svc("registry.example.com:5000/library/postgres:16@sha256:abc")}, want: "pg"},
		{name: "postgis", services: types.Services{"gis": svc("postgis/postgis:15-3.4"), "web": svc("nginx")}, want: "gis"},
		{name: "own image setting the server's variables", services: types.Services{"store": svc("acme/db:2", "POSTGRES_PASSWORD_FILE"), "app": svc("acme/app", "POSTGRES_HOST", "POSTGRES_PASSWORD")}, want: "store"},
		{name: "two postgres", services: types.Services{"a": svc("postgres:15"), "b": svc("postgres:16")}, err: "several services run PostgreSQL (a, b)"},
		{name: "none", services: types.Services{"web": svc("nginx")}, err: "no service runs a postgres image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why, err := InferDatabase(c.services)
			if c.err != "" {
				assert.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
			assert.NotEmpty(t, why)
		})
	}
}
