package diag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Options configure a run.
type Options struct {
	Settings settings.Settings
	Kube     *pgtarget.Flags // set: the database is in a Kubernetes pod, and the Docker stack is not checked
}

// Timeouts of the checks: each bounded, so a dead service costs at most this.
const (
	engineTimeout   = 2 * time.Second
	composeTimeout  = 5 * time.Second
	serviceTimeout  = 2 * time.Second
	databaseTimeout = 3 * time.Second
	// A migration tool's check (alembic, say) starts an interpreter.
	migrationsTimeout = 20 * time.Second
)

// collector gathers checks from concurrent goroutines.
type collector struct {
	mu       sync.Mutex
	checks   []Check
	services map[string]ServiceReport
	wg       sync.WaitGroup
}

// run runs fn in its own goroutine with its own timeout and records its check.
func (c *collector) run(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) Check) {
	c.runAll(ctx, timeout, func(ctx context.Context) []Check { return []Check{fn(ctx)} })
}

// runAll is run for a function that makes several checks.
func (c *collector) runAll(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) []Check) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		for _, ch := range fn(cctx) {
			if ch.TookMS == 0 {
				ch.TookMS = time.Since(start).Milliseconds()
			}
			c.add(ch)
		}
	}()
}

func (c *collector) add(ch Check) {
	c.mu.Lock()
	c.checks = append(c.checks, ch)
	c.mu.Unlock()
}

func (c *collector) service(name string, s ServiceReport) {
	c.mu.Lock()
	c.services[name] = s
	c.mu.Unlock()
}

// Run is one run of the doctor. Every problem becomes a check; Run itself
// fails only when ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	s := opts.Settings
	r := &Report{SchemaVersion: SchemaVersion, Timestamp: start.UTC(), Project: s.Project, Mode: s.Mode, ComposeFiles: s.Files}
	c := &collector{services: map[string]ServiceReport{}}

	c.run(ctx, time.Second, func(context.Context) Check { return checkDisk(s.BackupDir) })
	c.run(ctx, time.Second, func(context.Context) Check { return checkBackups(s.BackupDir, s.BackupMaxAge) })

	finish := func() (*Report, error) {
		c.wg.Wait()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.Checks, r.Services = c.checks, c.services
		r.DurationMS = time.Since(start).Milliseconds()
		r.Finish()
		return r, nil
	}
	if opts.Kube != nil {
		r.Mode = "kubernetes"
		c.run(ctx, databaseTimeout+engineTimeout, func(ctx context.Context) Check { return checkPodDatabase(ctx, *opts.Kube, s.Migrations) })
		return finish()
	}

	ectx, cancel := context.WithTimeout(ctx, engineTimeout)
	t0 := time.Now()
	eng, err := engine.Connect(ectx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			c.wg.Wait()
			return nil, ctx.Err()
		}
		c.add(Check{ID: "engine", Group: "machine", Status: Fail, Summary: err.Error(), Next: "docker info", TookMS: time.Since(t0).Milliseconds()})
		c.runAll(ctx, composeTimeout, func(ctx context.Context) []Check { return checkCompose(ctx, s, nil, nil) })
	} else {
		defer eng.Close()
		c.add(Check{ID: "engine", Group: "machine", Status: OK, TookMS: time.Since(t0).Milliseconds(),
			Summary: fmt.Sprintf("Docker engine %s (API %s)", eng.Version, eng.APIVersion)})
		octx, cancel := context.WithTimeout(ctx, engineTimeout)
		services, err := stack.Observe(octx, eng, s)
		cancel()
		if err != nil {
			c.add(Check{ID: "services", Group: "services", Status: Fail, Summary: err.Error(), Next: "docker info"})
		}
		if len(services) == 0 && err == nil {
			c.add(Check{ID: "services", Group: "services", Status: Fail, Summary: "stack " + s.Project + " is not running: no containers", Next: "go tool mage env:up"})
		}
		if s.DBServiceErr != nil {
			c.add(Check{ID: "database", Group: "database", Status: Fail, Summary: "database: " + s.DBServiceErr.Error(), Next: "go tool mage env:init"})
		}
		for _, svc := range services {
			if svc.Mode != "" {
				r.Mode = svc.Mode
			}
			c.run(ctx, serviceTimeout, func(ctx context.Context) Check { return checkService(ctx, c, svc) })
			if svc.Name == s.DBService {
				c.run(ctx, databaseTimeout, func(ctx context.Context) Check { return checkDatabase(ctx, eng, svc, s.Migrations) })
			}
			if m := s.Migrations; m != nil && len(m.Command) > 0 && svc.Name == m.Service {
				c.run(ctx, migrationsTimeout, func(ctx context.Context) Check { return checkMigrationCommand(ctx, eng, svc, *m) })
			}
		}
		c.runAll(ctx, composeTimeout, func(ctx context.Context) []Check { return checkCompose(ctx, s, eng, services) })
	}
	return finish()
}

// checkCompose finds Compose and has it read the compose files (its
// version and the config are asked for at once: two processes, one wait),
// then names what holds a port of a service that is not running, since that
// is what would stop it from starting.
func checkCompose(ctx context.Context, s settings.Settings, eng *engine.Engine, running []stack.Service) []Check {
	ch := Check{ID: "compose", Group: "machine"}
	project, err := s.ComposeProject()
	if err != nil {
		ch.Status, ch.Summary, ch.Next = Fail, err.Error(), term.NextOf(err)
		return []Check{ch}
	}
	for _, candidate := range composecli.Chosen() {
		driver := composecli.Driver{Command: candidate}
		var probeErr error
		probed := make(chan struct{})
		go func() {
			defer close(probed)
			var d composecli.Driver
			d, probeErr = composecli.Probe(ctx, candidate)
			driver.Version = d.Version
		}()
		_, cfgErr := composecli.Output(ctx, driver.ConfigArgs(project))
		<-probed
		if probeErr != nil {
			continue // not installed: try the next one
		}
		if cfgErr != nil {
			ch.Status, ch.Summary, ch.Next = Fail, fmt.Sprintf("%s: the compose files are not valid: %v", driver, cfgErr), strings.Join(driver.ConfigArgs(project), " ")
			return []Check{ch}
		}
		ch.Status, ch.Summary = OK, fmt.Sprintf("%s; compose files valid", driver)
		if driver.V1() {
			ch.Status, ch.Summary = Warn, ch.Summary+" (docker-compose v1 is end-of-life: install the Compose v2 plugin)"
		}
		if eng == nil {
			return []Check{ch}
		}
		return []Check{ch, checkPorts(ctx, eng, s, running)}
	}
	ch.Status, ch.Summary, ch.Next = Fail, composecli.ErrNoCompose.Error(), "docker compose version"
	return []Check{ch}
}

func checkPorts(ctx context.Context, eng *engine.Engine, s settings.Settings, running []stack.Service) Check {
	ch := Check{ID: "ports", Group: "services", Status: OK, Summary: "no port the stack needs is held by something else"}
	if !eng.Local() {
		ch.Summary = fmt.Sprintf("ports not checked: the engine (%s) publishes them on its own machine", eng.DaemonHost())
		return ch
	}
	up := map[string]bool{}
	for _, svc := range running {
		up[svc.Name] = svc.State == "running"
	}
	published, err := s.Published(s.Active())
	if err != nil {
		ch.Status, ch.Summary = Warn, err.Error()
		return ch
	}
	var busy []string
	for _, p := range published {
		if up[p.Service] || stack.PortFree(p.Port) {
			continue
		}
		holder := stack.HolderOf(ctx, eng, p.Port)
		if holder == "" {
			holder = "another program"
		}
		busy = append(busy, fmt.Sprintf("port %d (for %s) is held by %s", p.Port, p.Service, holder))
		ch.Next = fmt.Sprintf("ss -ltnp 'sport = :%d'", p.Port)
	}
	if len(busy) > 0 {
		ch.Status, ch.Summary = Fail, strings.Join(busy, "; ")
	}
	return ch
}

func checkService(ctx context.Context, c *collector, svc stack.Service) Check {
	ch := Check{ID: "service:" + svc.Name, Group: "services", Details: map[string]string{}}
	rep := ServiceReport{Container: svc.Container, State: svc.State, Health: svc.Health, RestartCount: svc.RestartCount,
		Ports: []int{}, Details: map[string]string{}}
	if svc.State == "running" && !svc.StartedAt.IsZero() {
		rep.UptimeSeconds = int64(time.Since(svc.StartedAt).Seconds())
	}
	var problems []string
	switch {
	case svc.State != "running":
		problems = append(problems, fmt.Sprintf("%s (exit code %d)", svc.State, svc.ExitCode))
	case svc.Health == "unhealthy" || svc.Health == "starting":
		problems = append(problems, "health "+svc.Health)
	}
	connected := svc.State == "running"
	for _, p := range svc.Ports {
		rep.Ports = append(rep.Ports, p.Host)
		if svc.State != "running" {
			continue
		}
		d := net.Dialer{Timeout: 500 * time.Millisecond}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Host)))
		if err != nil {
			connected = false
			problems = append(problems, fmt.Sprintf("port %d does not answer", p.Host))
			continue
		}
		conn.Close()
	}
	var probeNote string
	if svc.State == "running" && (svc.Probe != "" || len(svc.Checks) > 0) {
		urls := append([]string(nil), svc.Checks...)
		if svc.Probe != "" {
			urls = append([]string{svc.Probe}, urls...)
		}
		var failed []string
		for _, u := range urls {
			if err := probeURL(ctx, u); err != nil {
				failed = append(failed, err.Error())
				rep.Details[u] = err.Error()
			} else {
				rep.Details[u] = "ok"
			}
		}
		if len(failed) > 0 {
			connected = false
			problems = append(problems, strings.Join(failed, "; "))
		} else {
			probeNote = fmt.Sprintf("; %d URL(s) answer", len(urls))
		}
	}
	rep.Connectivity = connected
	c.service(svc.Name, rep)
	ch.Details["container"], ch.Details["restarts"] = svc.Container, strconv.Itoa(svc.RestartCount)
	ports := make([]string, len(rep.Ports))
	for i, p := range rep.Ports {
		ports[i] = strconv.Itoa(p)
	}
	health := svc.Health
	if health == "" {
		health = "no healthcheck"
	}
	if len(problems) > 0 {
		ch.Status, ch.Summary, ch.Next = Fail, fmt.Sprintf("%s: %s", svc.Name, strings.Join(problems, "; ")), "go tool mage env:logs -service="+svc.Name
		if svc.State != "running" {
			ch.Next = "go tool mage env:up"
		}
		return ch
	}
	ch.Status = OK
	ch.Summary = fmt.Sprintf("%s: running, %s, %d restarts, up %s; ports %s reachable%s", svc.Name, health, svc.RestartCount,
		(time.Duration(rep.UptimeSeconds) * time.Second).String(), strings.Join(ports, ", "), probeNote)
	if len(ports) == 0 {
		ch.Summary = fmt.Sprintf("%s: running, %s, %d restarts, up %s%s", svc.Name, health, svc.RestartCount, (time.Duration(rep.UptimeSeconds) * time.Second).String(), probeNote)
	}
	if svc.RestartCount > 0 {
		ch.Status, ch.Next = Warn, "go tool mage env:logs -service="+svc.Name
	}
	return ch
}

// probeURL is stack.Probe, and for a .json URL also a check that the body parses.
func probeURL(ctx context.Context, url string) error {
	if !strings.HasSuffix(url, ".json") {
		return stack.Probe(ctx, url)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	if !json.Valid(body) {
		return fmt.Errorf("%s is not valid JSON", url)
	}
	return nil
}

func checkDatabase(ctx context.Context, eng *engine.Engine, svc stack.Service, m *settings.Migrations) Check {
	ch := Check{ID: "database", Group: "database", Details: map[string]string{}}
	fail := func(summary, next string) Check {
		ch.Status, ch.Summary, ch.Next = Fail, summary, next
		return ch
	}
	if svc.State != "running" {
		return fail(fmt.Sprintf("database: container %s is %s", svc.Container, svc.State), "go tool mage env:up")
	}
	port := 0
	for _, p := range svc.Ports {
		if p.Container == 5432 {
			port = p.Host
		}
	}
	if port == 0 {
		return fail("database: the db service publishes no port for 5432 to connect to", "go tool mage env:status")
	}
	target, err := pgtarget.OpenContainer(ctx, eng, svc.ID) // credentials, *_FILE included
	if err != nil {
		return fail("database: "+err.Error(), "docker ps")
	}
	creds := target.Credentials()
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d sslmode=disable connect_timeout=2", port))
	if err != nil {
		return fail("database: "+err.Error(), "")
	}
	cfg.User, cfg.Database, cfg.Password = creds.User, creds.Database, creds.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail(fmt.Sprintf("database %s: cannot connect: %v", creds.Database, err), "go tool mage env:logs -service="+svc.Name)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one, conns, maxConns int
	var version string
	var size int64
	err = conn.QueryRow(ctx, `SELECT 1, current_setting('server_version'), pg_database_size(current_database()),
		(SELECT count(*) FROM pg_stat_activity)::int, current_setting('max_connections')::int`).Scan(&one, &version, &size, &conns, &maxConns)
	if err != nil {
		return fail(fmt.Sprintf("database %s: query failed: %v", creds.Database, err), "go tool mage env:logs -service="+svc.Name)
	}
	facts := databaseFacts{where: svc.Container, name: creds.Database, version: version, size: size, conns: conns, maxConns: maxConns}
	if m != nil && m.Query != "" {
		var v any
		facts.migrations = readMigrations(m, func() (string, error) {
			err := conn.QueryRow(ctx, m.Query).Scan(&v)
			return fmt.Sprint(v), err
		})
	}
	return judgeDatabase(ch, facts)
}

func checkPodDatabase(ctx context.Context, f pgtarget.Flags, m *settings.Migrations) Check {
	ch := Check{ID: "database", Group: "database"}
	db, err := pgtarget.OpenPod(ctx, f)
	if err != nil {
		ch.Status, ch.Summary, ch.Next = Fail, "database: "+err.Error(), term.NextOf(err)
		return ch
	}
	creds := db.Credentials()
	out, err := db.Query(ctx, creds.Database, `SELECT 1, current_setting('server_version'), pg_database_size(current_database()),
		(SELECT count(*) FROM pg_stat_activity), current_setting('max_connections')`)
	if err != nil {
		ch.Status, ch.Summary = Fail, fmt.Sprintf("database %s in %s: %v", creds.Database, db.Describe(), err)
		return ch
	}
	f5 := strings.Split(strings.TrimSpace(out), "\t")
	if len(f5) != 5 {
		ch.Status, ch.Summary = Fail, fmt.Sprintf("database %s: unexpected answer %q", creds.Database, out)
		return ch
	}
	facts := databaseFacts{where: db.Describe(), name: creds.Database, version: f5[1]}
	facts.size, _ = strconv.ParseInt(f5[2], 10, 64)
	facts.conns, _ = strconv.Atoi(f5[3])
	facts.maxConns, _ = strconv.Atoi(f5[4])
	if m != nil && m.Query != "" {
		facts.migrations = readMigrations(m, func() (string, error) {
			v, err := db.Query(ctx, creds.Database, m.Query)
			return strings.TrimSpace(v), err
		})
	}
	return judgeDatabase(ch, facts)
}

// checkMigrationCommand runs the project's migrations check command in
// its service's container: exit 0 means the schema is current.
func checkMigrationCommand(ctx context.Context, eng *engine.Engine, svc stack.Service, m settings.Migrations) Check {
	command := strings.Join(m.Command, " ")
	ch := Check{ID: "migrations", Group: "database", Status: OK, Details: map[string]string{"command": command, "service": svc.Name}}
	ch.Summary = fmt.Sprintf("migrations current: `%s` passed in %s", command, svc.Name)
	next := m.Next
	if next == "" {
		next = "go tool mage env:logs -service=" + svc.Name
	}
	if svc.State != "running" {
		ch.Status, ch.Summary, ch.Next = Fail, fmt.Sprintf("migrations not checked: %s is %s", svc.Name, svc.State), "go tool mage env:up"
		return ch
	}
	stdout, stderr, code, err := eng.Exec(ctx, svc.ID, m.Command, nil)
	switch {
	case err != nil:
		ch.Status, ch.Summary, ch.Next = Fail, fmt.Sprintf("migrations not checked: `%s` in %s: %v", command, svc.Name, err), next
	case code != 0:
		ch.Status, ch.Next = Fail, next
		ch.Summary = fmt.Sprintf("migrations not current: `%s` in %s exited %d: %s", command, svc.Name, code, lastLine(stderr, stdout))
	}
	return ch
}

// lastLine is the last line of the first output that has one: a tool's
// error says why on standard error.
func lastLine(outputs ...string) string {
	for _, o := range outputs {
		if o = strings.TrimSpace(o); o != "" {
			lines := strings.Split(o, "\n")
			return strings.TrimSpace(lines[len(lines)-1])
		}
	}
	return "(no output)"
}

// databaseFacts are what the database checks read, by pgx or by psql.
type databaseFacts struct {
	where, name, version string
	size                 int64
	conns, maxConns      int
	migrations           *migrationFacts // nil: the project declares no migrations check
}

// migrationFacts are the answer to a project's migrations check.
type migrationFacts struct {
	current string // what the query answered
	latest  string // what it must answer; "" when unknown
	err     error  // the query failed: the migrations never ran
	next    string
}

// readMigrations asks the database where its migrations are (query) and
// the project where they should be.
func readMigrations(m *settings.Migrations, query func() (string, error)) *migrationFacts {
	f := &migrationFacts{latest: m.Latest, next: m.Next}
	if f.next == "" {
		f.next = "go tool mage env:restart"
	}
	if m.Files != "" && f.latest == "" {
		f.latest = latestMigration(m.Files)
	}
	f.current, f.err = query()
	return f
}

// latestMigration is the highest leading number among the files a glob
// matches (001_init.sql, 2_items.up.sql, ...), or "" when none has one.
func latestMigration(glob string) string {
	files, _ := filepath.Glob(glob)
	best := -1
	for _, f := range files {
		base := filepath.Base(f)
		n := 0
		for n < len(base) && base[n] >= '0' && base[n] <= '9' {
			n++
		}
		if v, err := strconv.Atoi(base[:n]); err == nil && v > best {
			best = v
		}
	}
	if best < 0 {
		return ""
	}
	return strconv.Itoa(best)
}

// judgeDatabase turns the facts into the check: migrations behind fail,
// never run warn, connections nearly exhausted warn.
func judgeDatabase(ch Check, f databaseFacts) Check {
	version, _, _ := strings.Cut(f.version, " ")
	ch.Details = map[string]string{"where": f.where, "version": version, "size_bytes": strconv.FormatInt(f.size, 10),
		"connections": strconv.Itoa(f.conns), "max_connections": strconv.Itoa(f.maxConns)}
	ch.Status = OK
	ch.Summary = fmt.Sprintf("database %s: SELECT 1 ok, PostgreSQL %s, %.1f MB, %d/%d connections",
		f.name, version, float64(f.size)/1e6, f.conns, f.maxConns)
	if m := f.migrations; m != nil {
		ch.Details["migration_version"], ch.Details["latest_migration"] = m.current, m.latest
		switch {
		case m.err != nil:
			ch.Status, ch.Next = Warn, m.next
			ch.Summary += fmt.Sprintf("; the migrations never ran (%v)", m.err)
			return ch
		case m.latest != "" && !sameVersion(m.current, m.latest):
			ch.Status, ch.Next = Fail, m.next
			ch.Summary += fmt.Sprintf(", migrations at %s of %s (behind)", m.current, m.latest)
			return ch
		case m.latest != "":
			ch.Summary += fmt.Sprintf(", migrations at %s of %s", m.current, m.latest)
		case m.current == "" || m.current == "<nil>":
			ch.Status, ch.Next = Warn, m.next
			ch.Summary += "; no migration applied"
			return ch
		default:
			ch.Summary += ", migrations at " + m.current
		}
	}
	if f.conns*10 >= f.maxConns*8 {
		ch.Status, ch.Next = Warn, "go tool mage env:status"
		ch.Summary += " (connections nearly exhausted)"
	}
	return ch
}

// sameVersion compares versions as numbers when both are, else as text.
func sameVersion(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return x == y
	}
	return a == b
}

func checkDisk(dir string) Check {
	ch := Check{ID: "disk", Group: "machine"}
	path := dir
	for {
		if _, err := os.Stat(path); err == nil || path == filepath.Dir(path) {
			break
		}
		path = filepath.Dir(path)
	}
	free, err := freeBytes(path)
	if err != nil {
		ch.Status, ch.Summary = Warn, fmt.Sprintf("free disk for %s unknown: %v", dir, err)
		return ch
	}
	ch.Details = map[string]string{"free_bytes": strconv.FormatInt(free, 10), "path": path}
	ch.Summary = fmt.Sprintf("%.1f GB free where backups go (%s)", float64(free)/1e9, dir)
	switch {
	case free < 100e6:
		ch.Status, ch.Next = Fail, "go tool mage db:prune -keep=3"
	case free < 1e9:
		ch.Status, ch.Next = Warn, "go tool mage db:prune -keep=5"
	default:
		ch.Status = OK
	}
	return ch
}

func checkBackups(dir string, maxAge time.Duration) Check {
	ch := Check{ID: "backups", Group: "backups"}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		ch.Status, ch.Summary, ch.Next = Warn, "no backups yet", "go tool mage db:backup"
		return ch
	}
	st := &store.Store{Dir: dir}
	entries, err := st.List()
	if err != nil {
		ch.Status, ch.Summary = Warn, err.Error()
		return ch
	}
	var newest *store.Entry
	var lastVerify *store.Verification
	var verifiedName string
	for i := range entries {
		e := &entries[i]
		if newest == nil && e.Good() {
			newest = e
		}
		if v := e.Verified(); v != nil && (lastVerify == nil || v.At.After(lastVerify.At)) {
			lastVerify, verifiedName = v, e.Name
		}
	}
	if newest == nil {
		ch.Status, ch.Summary, ch.Next = Warn, "no good backup in "+dir, "go tool mage db:backup"
		return ch
	}
	age := time.Since(newest.When)
	ch.Details = map[string]string{"newest": newest.Name, "age_seconds": strconv.FormatInt(int64(age.Seconds()), 10)}
	ch.Status = OK
	ch.Summary = fmt.Sprintf("newest good backup %s is %s old", newest.Name, age.Round(time.Minute))
	if age < time.Minute {
		ch.Summary = fmt.Sprintf("newest good backup %s is %s old", newest.Name, age.Round(time.Second))
	}
	switch {
	case lastVerify == nil:
		ch.Status, ch.Next = Warn, "go tool mage db:verify"
		ch.Summary += "; no backup was ever verified"
	case !lastVerify.OK:
		ch.Status, ch.Next = Warn, "go tool mage db:verify -name="+verifiedName
		ch.Summary += "; the last verification (" + verifiedName + ") failed: " + lastVerify.Detail
	default:
		ch.Summary += "; last verification ok (" + verifiedName + ")"
		ch.Details["last_verified"] = verifiedName
	}
	if age > maxAge {
		ch.Status, ch.Next = Warn, "go tool mage db:backup"
		ch.Summary += fmt.Sprintf(" (older than %s)", maxAge)
	}
	return ch
}
