package diag

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
)

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
		ch.Summary = fmt.Sprintf("migrations not current: `%s` in %s exited %d: %s", command, svc.Name, code, lastWords(stderr, stdout))
	}
	return ch
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

// lastWords is the last line of a tool's error output, else of its output:
// a tool's error says why on standard error.
func lastWords(stderr, stdout string) string {
	for _, o := range []string{stderr, stdout} {
		if line := proc.LastLine(o); line != "" {
			return line
		}
	}
	return "(no output)"
}
