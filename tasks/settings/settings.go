// Package settings reads every stevedore setting once, for every target:
// which Compose project to run (found the way Compose finds it), which of
// its services is the database, where backups go, the modes, probes and
// migrations check. A setting comes, in this order of precedence, from a
// target's flag, a STEVEDORE_* variable, a magefile's Configure call, the
// x-stevedore block of the Compose file, or a default inferred from the
// Compose model; Sources says which, for each.
package settings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// Overrides are settings given by a target's flags or by a magefile's Go
// code (see Configure). A zero field leaves the setting to the next source.
type Overrides struct {
	Project   string   // compose project name
	DBService string   // the PostgreSQL service
	Container string   // a PostgreSQL container outside the stack, instead of the service
	BackupDir string   // where backups go
	Keep      *int     // backups kept after each backup (0: never prune)
	ReportDir string   // where diag:run saves its reports
	StateDir  string   // stevedore's own files: run log, last env:up
	EnvFile   string   // the Compose settings file (.env)
	Mode      string   // one of the modes of x-stevedore
	Profiles  []string // profiles switched on besides the mode's
	MaxAge    time.Duration
	Migrate   *Migrate // db:migrate's commands (x-stevedore.migrate)
	Seed      *Seed    // db:seed's command (x-stevedore.seed)

	Encryption *Encryption // who backups are encrypted to
	Offsite    *Offsite    // where backups are pushed
	Notify     *Notify     // the webhook told about scheduled and CI runs
}

var (
	configuredMu sync.Mutex
	configured   Overrides
)

// Configure sets a repository's own settings from its magefile, for every
// target; STEVEDORE_* variables and flags still override them:
//
//	func init() { settings.Configure(settings.Overrides{DBService: "postgres", BackupDir: "backups"}) }
func Configure(o Overrides) {
	configuredMu.Lock()
	defer configuredMu.Unlock()
	configured = o
}

func configuredOverrides() Overrides {
	configuredMu.Lock()
	defer configuredMu.Unlock()
	return configured
}

// Settings are the resolved settings of one run.
type Settings struct {
	Project      string
	Dir          string   // the project directory: the first Compose file's folder
	Files        []string // the Compose files: base (and override) files, then the mode's
	Found        string   // how the Compose files were found
	EnvFile      string   // the settings file Compose reads; "" when there is none
	EnvExample   string   // .env.example beside the Compose files, that EnvFile is made from; "" when none
	EnvCreated   bool     // Load made EnvFile from EnvExample
	Mode         string   // "" when the project has no modes
	Modes        map[string]Mode
	Profiles     []string // profiles switched on
	DBService    string
	DBServiceErr error  // why the database service could not be inferred
	Container    string // STEVEDORE_DB_CONTAINER or -container: a container instead of the service
	Target       string // STEVEDORE_TARGET: docker, kubernetes or auto ("")
	BackupDir    string
	Keep         int
	ReportDir    string
	StateDir     string
	BackupMaxAge time.Duration
	Services     map[string]Service // declared probes and URLs, by service
	Migrations   *Migrations
	Migrate      *Migrate          // db:migrate's commands; nil when the project declares none
	Seed         *Seed             // db:seed's command
	Recipients   []string          // new backups are encrypted to these age or SSH keys (or files of them); none: not encrypted
	Offsite      *Offsite          // nil: no offsite storage
	Notify       *Notify           // nil: no webhook
	Sources      map[string]string // where each setting came from
	Warnings     []string          // what Compose's loader warned about

	// Model is the Compose project with every profile's services; nil when
	// no Compose file was found (ComposeErr says why).
	Model      *types.Project
	ComposeErr error
}

// LogFile is the run log every target appends to.
func (s Settings) LogFile() string { return filepath.Join(s.StateDir, "stevedore.log") }

// StatusFile records what the last successful env:up started.
func (s Settings) StatusFile() string { return filepath.Join(s.StateDir, "up.json") }

// Defaults of settings nothing else gives.
const (
	DefaultBackupDir = "database/backups"
	DefaultReportDir = "database/reports"
	DefaultStateDir  = ".stevedore"
	DefaultKeep      = 10
	DefaultMaxAge    = 24 * time.Hour
)

// Load resolves every setting for a target run from the working directory
// and the environment. makeEnvFile creates a missing settings file from its
// .env.example (env:up does; other targets only read).
func Load(ctx context.Context, flags Overrides, makeEnvFile bool) (Settings, error) {
	return load(ctx, flags, configuredOverrides(), makeEnvFile)
}

func load(ctx context.Context, flags, magefile Overrides, makeEnvFile bool) (Settings, error) {
	r := resolver{sources: map[string]string{}}
	s := Settings{Sources: r.sources}
	s.StateDir = r.str("state", flags.StateDir, "STEVEDORE_STATE_DIR", magefile.StateDir, "", DefaultStateDir)
	found, err := Discover(".")
	if err != nil {
		s.ComposeErr = err
	} else {
		s.Files, s.Dir, s.Found = found.Files, found.Dir, found.How
	}

	var raw Extension
	if s.ComposeErr == nil {
		s.EnvFile = r.str("env_file", flags.EnvFile, "STEVEDORE_ENV_FILE", magefile.EnvFile, "", filepath.Join(s.Dir, ".env"))
		if example := filepath.Join(s.Dir, ".env.example"); exists(example) {
			s.EnvExample = example
		}
		if !exists(s.EnvFile) {
			if makeEnvFile && s.EnvExample != "" {
				if err := makeEnvFrom(s.EnvFile, s.EnvExample); err != nil {
					return s, err
				}
				s.EnvCreated = true
			} else {
				s.EnvFile = "" // optional, as in Compose
			}
		}
		if raw, err = decodeExtension(rawExtension(s.Files)); err != nil {
			return s, err
		}
	}

	// The modes decide which files to load, so they are read from the files
	// as written; everything else from the loaded (interpolated) model, in
	// one load.
	ext := raw
	s.Modes = raw.Modes
	s.Mode = r.str("mode", flags.Mode, "STEVEDORE_MODE", magefile.Mode, raw.DefaultMode, "")
	mode, known := raw.Modes[s.Mode]
	if s.Mode != "" && !known {
		return s, fmt.Errorf("unknown mode %q: %s", s.Mode, modeChoice(raw.Modes))
	}
	for _, f := range mode.Files {
		s.Files = append(s.Files, s.inDir(f))
	}
	if s.ComposeErr == nil {
		if s.Model, s.Warnings, err = loadModel(ctx, s.Dir, s.Files, s.EnvFile); err != nil {
			s.Model, s.ComposeErr = nil, err
		} else if ext, err = decodeExtension(s.Model.Extensions[ExtensionKey]); err != nil {
			return s, err
		}
	}
	s.Profiles = profiles(mode.Profiles, os.Getenv("COMPOSE_PROFILES"), magefile.Profiles, flags.Profiles)

	composeName := ""
	if s.Model != nil {
		composeName = s.Model.Name
	}
	s.Project = r.first("project", flags.Project, []string{"STEVEDORE_PROJECT", "COMPOSE_PROJECT_NAME"}, magefile.Project, ext.Project, composeName)
	switch {
	case s.Project == "":
		s.Project, r.sources["project"] = "stevedore", "default"
	case r.sources["project"] == "default":
		r.sources["project"] = "Compose's: name: or the folder's name"
	}

	s.DBService = r.str("database", flags.DBService, "STEVEDORE_DB_SERVICE", magefile.DBService, ext.Database, "")
	if s.DBService == "" && s.Model != nil {
		// Only the db targets need it: the others still run, and they say why.
		name, why, err := InferDatabase(s.Model.AllServices())
		s.DBService, s.DBServiceErr, r.sources["database"] = name, err, "inferred: "+why
		if err != nil {
			r.sources["database"] = "not inferred"
		}
	}
	if s.DBService == "" && s.DBServiceErr == nil {
		s.DBService, r.sources["database"] = "db", "default"
	}

	s.Container = r.str("container", flags.Container, "STEVEDORE_DB_CONTAINER", magefile.Container, "", "")
	s.Target = r.str("target", "", "STEVEDORE_TARGET", "", "", "")
	s.BackupDir = r.str("backups", flags.BackupDir, "STEVEDORE_BACKUP_DIR", magefile.BackupDir, s.inDirOrEmpty(ext.Backups), DefaultBackupDir)
	s.ReportDir = r.str("reports", flags.ReportDir, "STEVEDORE_REPORT_DIR", magefile.ReportDir, s.inDirOrEmpty(ext.Reports), DefaultReportDir)
	if s.Keep, err = r.keep(flags.Keep, magefile.Keep, ext.Keep); err != nil {
		return s, err
	}
	if s.BackupMaxAge, err = r.maxAge(flags.MaxAge, magefile.MaxAge); err != nil {
		return s, err
	}
	s.Services, s.Migrate, s.Seed = ext.Services, ext.Migrate, ext.Seed
	if err := checkCommands("settings.Configure", magefile.Migrate, magefile.Seed); err != nil {
		return s, err
	}
	if magefile.Migrate != nil {
		s.Migrate = magefile.Migrate
	}
	if magefile.Seed != nil {
		s.Seed = magefile.Seed
	}
	if err := r.resolveFar(&s, flags, magefile, ext); err != nil {
		return s, err
	}
	if s.Migrations = ext.Migrations; s.Migrations != nil && s.Migrations.Files != "" {
		m := *s.Migrations
		m.Files = s.inDir(m.Files)
		s.Migrations = &m
	}
	return s, nil
}

// inDir resolves a path of the x-stevedore block against the project
// directory (relative to the working directory when under it, for
// shorter messages).
func (s Settings) inDir(p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.Dir, p)
	}
	return relative([]string{p})[0]
}

func (s Settings) inDirOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	return s.inDir(p)
}

func modeChoice(modes map[string]Mode) string {
	if len(modes) == 0 {
		return "this project has no modes (" + ExtensionKey + ".modes)"
	}
	names := make([]string, 0, len(modes))
	for n := range modes {
		names = append(names, n)
	}
	sort.Strings(names)
	return "use one of " + strings.Join(names, ", ")
}

// profiles is every profile switched on, from wherever it came, once each.
func profiles(mode []string, env string, more ...[]string) []string {
	all := append([]string(nil), mode...)
	for _, p := range strings.Split(env, ",") {
		if p = strings.TrimSpace(p); p != "" {
			all = append(all, p)
		}
	}
	for _, m := range more {
		all = append(all, m...)
	}
	sort.Strings(all)
	return slices.Compact(all)
}

// resolver picks each setting from the first source that gives it and
// records which one did.
type resolver struct{ sources map[string]string }

func (r resolver) str(name, flag, env, magefile, ext, def string) string {
	return r.first(name, flag, []string{env}, magefile, ext, def)
}

// first is str for a setting that several variables give, the first
// set one winning.
func (r resolver) first(name, flag string, envs []string, magefile, ext, def string) string {
	type candidate struct{ v, source string }
	candidates := []candidate{{v: flag, source: "flag"}}
	for _, env := range envs {
		candidates = append(candidates, candidate{v: os.Getenv(env), source: env})
	}
	candidates = append(candidates, candidate{v: magefile, source: "magefile"}, candidate{v: ext, source: ExtensionKey}, candidate{v: def, source: "default"})
	for _, c := range candidates {
		if c.v != "" {
			r.sources[name] = c.source
			return c.v
		}
	}
	return ""
}

func (r resolver) keep(flag, magefile, ext *int) (int, error) {
	if flag != nil {
		r.sources["keep"] = "flag"
		return *flag, nil
	}
	if v := os.Getenv("STEVEDORE_KEEP"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("STEVEDORE_KEEP=%q: give a number of backups, 0 or more", v)
		}
		r.sources["keep"] = "STEVEDORE_KEEP"
		return n, nil
	}
	for _, c := range []struct {
		v      *int
		source string
	}{{magefile, "magefile"}, {ext, ExtensionKey}} {
		if c.v != nil {
			if *c.v < 0 {
				return 0, fmt.Errorf("%s: keep must be 0 or more, not %d", c.source, *c.v)
			}
			r.sources["keep"] = c.source
			return *c.v, nil
		}
	}
	r.sources["keep"] = "default"
	return DefaultKeep, nil
}

func (r resolver) maxAge(flag, magefile time.Duration) (time.Duration, error) {
	if flag > 0 {
		r.sources["backup_max_age"] = "flag"
		return flag, nil
	}
	if v := os.Getenv("STEVEDORE_BACKUP_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("STEVEDORE_BACKUP_MAX_AGE=%q: give a duration such as 24h", v)
		}
		r.sources["backup_max_age"] = "STEVEDORE_BACKUP_MAX_AGE"
		return d, nil
	}
	if magefile > 0 {
		r.sources["backup_max_age"] = "magefile"
		return magefile, nil
	}
	r.sources["backup_max_age"] = "default"
	return DefaultMaxAge, nil
}

// loadMu serialises loads: compose-go warns through logrus's global
// logger, which a load borrows to collect the warnings.
var loadMu sync.Mutex

// loadModel loads the Compose files with compose-go, as Compose itself
// does: the OS environment and the settings file interpolated, every
// profile's services included.
func loadModel(ctx context.Context, dir string, files []string, envFile string) (*types.Project, []string, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	var warned bytes.Buffer
	out, level := logrus.StandardLogger().Out, logrus.GetLevel()
	logrus.SetOutput(&warned)
	logrus.SetLevel(logrus.WarnLevel)
	defer func() { logrus.SetOutput(out); logrus.SetLevel(level) }()

	fns := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(dir), cli.WithOsEnv, cli.WithProfiles([]string{"*"})}
	if envFile != "" {
		// Only the settings file stevedore chose: compose-go, given none,
		// would read the folder's .env even when another was asked for.
		fns = append(fns, cli.WithEnvFiles(envFile), cli.WithDotEnv)
	}
	opts, err := cli.NewProjectOptions(files, fns...)
	if err == nil {
		var p *types.Project
		if p, err = opts.LoadProject(ctx); err == nil {
			return p, warnings(warned.String()), nil
		}
	}
	return nil, nil, fmt.Errorf("the Compose files (%s) are not valid: %w", strings.Join(relative(files), ", "), err)
}

// warnings are logrus's lines reduced to their messages.
func warnings(logged string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(logged), "\n") {
		if _, msg, ok := strings.Cut(line, `msg="`); ok {
			line = strings.ReplaceAll(strings.TrimSuffix(msg, `"`), `\"`, `"`)
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// relative shortens paths under the working directory for messages.
func relative(paths []string) []string {
	wd, _ := os.Getwd()
	out := make([]string, len(paths))
	for i, p := range paths {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		}
		out[i] = p
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// RequireCompose is the reason a target that drives the stack cannot run.
func (s Settings) RequireCompose() error {
	if s.ComposeErr != nil {
		return s.ComposeErr
	}
	if s.Model == nil {
		return errors.New("no Compose project")
	}
	return nil
}
