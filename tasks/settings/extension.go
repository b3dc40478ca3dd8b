package settings

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ExtensionKey is the top-level key of stevedore's block in a Compose file.
// Compose ignores x- keys, so the block needs no file of its own.
const ExtensionKey = "x-stevedore"

// Extension is the x-stevedore block:
//
//	x-stevedore:
//	  project: shop              # compose project name (default: Compose's)
//	  database: db               # the PostgreSQL service (default: inferred)
//	  backups: ../database/backups
//	  keep: 10                   # backups kept after each backup
//	  default_mode: debug
//	  modes:
//	    debug: {files: [docker-compose.debug.yml]}
//	    production: {}
//	  services:
//	    api: {probe: "http://localhost:8000/health", urls: ["http://localhost:8000/docs"]}
//	  migrations:
//	    query: SELECT coalesce(max(version), 0) FROM schema_migrations
//	    files: api/migrations/*.sql
//	  migrate:                   # db:migrate (snapshot, run, roll back on failure)
//	    service: api
//	    up: [alembic, upgrade, head]
//	    down: [alembic, downgrade, "-1"]
//	  seed:                      # db:seed, the same for seed scripts
//	    service: api
//	    command: [python, scripts/seed.py]
//
// Relative paths are relative to the project directory, as in Compose.
type Extension struct {
	Project     string             `yaml:"project,omitempty"`
	Database    string             `yaml:"database,omitempty"`
	Backups     string             `yaml:"backups,omitempty"`
	Keep        *int               `yaml:"keep,omitempty"`
	Reports     string             `yaml:"reports,omitempty"`
	DefaultMode string             `yaml:"default_mode,omitempty"`
	Modes       map[string]Mode    `yaml:"modes,omitempty"`
	Services    map[string]Service `yaml:"services,omitempty"`
	Migrations  *Migrations        `yaml:"migrations,omitempty"`
	Migrate     *Migrate           `yaml:"migrate,omitempty"`
	Seed        *Seed              `yaml:"seed,omitempty"`
	Encryption  *Encryption        `yaml:"encryption,omitempty"`
	Offsite     *Offsite           `yaml:"offsite,omitempty"`
	Notify      *Notify            `yaml:"notify,omitempty"`
}

// Migrate is how the project migrates its database: commands run in a
// service's container (started for the run when it is not running).
type Migrate struct {
	Service string   `yaml:"service" json:"service"`
	Up      []string `yaml:"up" json:"up"`
	Down    []string `yaml:"down,omitempty" json:"down,omitempty"` // reverts the last migration
}

// Seed is how the project fills its database with seed data.
type Seed struct {
	Service string   `yaml:"service" json:"service"`
	Command []string `yaml:"command" json:"command"`
}

// Mode is a named way to run the stack: extra Compose files laid over the
// base ones, and profiles switched on.
type Mode struct {
	Files    []string `yaml:"files,omitempty" json:"files,omitempty"`
	Profiles []string `yaml:"profiles,omitempty" json:"profiles,omitempty"`
}

// Service is what stevedore checks on one service besides its healthcheck.
// The dev.stevedore.probe/urls/checks labels say the same on a service.
type Service struct {
	Probe  string   `yaml:"probe,omitempty" json:"probe,omitempty"`   // an http(s) URL answering 200 when the service is ready
	URLs   []string `yaml:"urls,omitempty" json:"urls,omitempty"`     // URLs to show people
	Checks []string `yaml:"checks,omitempty" json:"checks,omitempty"` // URLs the doctor checks (.json ones must parse)
}

// Migrations is the doctor's migrations check. Query returns the version
// the database is at; it must be Latest, or the highest leading number of
// the files Files matches; with neither, any non-empty answer passes. A
// query that fails (the table does not exist) means the migrations never
// ran. Or Command runs in Service's container (`alembic check`, say) and
// passes when it exits 0.
type Migrations struct {
	Query   string   `yaml:"query,omitempty" json:"query,omitempty"`
	Command []string `yaml:"command,omitempty" json:"command,omitempty"`
	Service string   `yaml:"service,omitempty" json:"service,omitempty"`
	Latest  string   `yaml:"latest,omitempty" json:"latest,omitempty"`
	Files   string   `yaml:"files,omitempty" json:"files,omitempty"`
	Next    string   `yaml:"next,omitempty" json:"next,omitempty"` // what to type when the database is behind
}

var unknownField = regexp.MustCompile(`field (\S+) not found`)

// rawExtension is the x-stevedore block read straight from the files, as
// written (the last file that has one wins): it says which mode files to
// load, and stands in for the model's block when Compose cannot load the
// model (a variable the settings file should give is missing), so targets
// that do not start the stack still learn their settings.
func rawExtension(files []string) any {
	var block any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var doc map[string]any
		if yaml.Unmarshal(data, &doc) == nil && doc[ExtensionKey] != nil {
			block = doc[ExtensionKey]
		}
	}
	return block
}

// decodeExtension reads the x-stevedore block as compose-go left it (maps
// and lists, already interpolated). Unknown keys are refused: a typo must
// not silently switch a setting off.
func decodeExtension(raw any) (Extension, error) {
	var ext Extension
	if raw == nil {
		return ext, nil
	}
	data, err := yaml.Marshal(raw)
	if err != nil {
		return ext, fmt.Errorf("%s: %w", ExtensionKey, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&ext); err != nil {
		// Line numbers would be those of the block re-encoded: name the key.
		if unknown := unknownField.FindAllStringSubmatch(err.Error(), -1); len(unknown) > 0 {
			var keys []string
			for _, m := range unknown {
				keys = append(keys, m[1])
			}
			return ext, fmt.Errorf("%s: unknown setting %s (see the README for the settings there are)", ExtensionKey, strings.Join(keys, ", "))
		}
		return ext, fmt.Errorf("%s: %s", ExtensionKey, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if m := ext.Migrations; m != nil {
		switch {
		case (strings.TrimSpace(m.Query) == "") == (len(m.Command) == 0):
			return ext, fmt.Errorf("%s.migrations: give a query or a command (and its service), one of the two", ExtensionKey)
		case len(m.Command) > 0 && m.Service == "":
			return ext, fmt.Errorf("%s.migrations: say which service the command runs in (service:)", ExtensionKey)
		}
	}
	if err := checkCommands(ExtensionKey, ext.Migrate, ext.Seed); err != nil {
		return ext, err
	}
	if ext.DefaultMode != "" {
		if _, ok := ext.Modes[ext.DefaultMode]; !ok {
			return ext, fmt.Errorf("%s: default_mode %q is not one of the modes", ExtensionKey, ext.DefaultMode)
		}
	}
	return ext, nil
}

// checkCommands refuses db:migrate's and db:seed's commands without their
// service or command, wherever they were given (from names them).
func checkCommands(from string, m *Migrate, sd *Seed) error {
	if m != nil && (m.Service == "" || len(m.Up) == 0 || m.Up[0] == "" || len(m.Down) > 0 && m.Down[0] == "") {
		return fmt.Errorf("%s.migrate: give the service the commands run in (service:) and the migration command (up:)", from)
	}
	if sd != nil && (sd.Service == "" || len(sd.Command) == 0 || sd.Command[0] == "") {
		return fmt.Errorf("%s.seed: give the service the command runs in (service:) and the command (command:)", from)
	}
	return nil
}
