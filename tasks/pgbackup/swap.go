package pgbackup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// swapAttempts bounds retries of a swap that a client reconnecting between
// the end of its session and the rename made fail.
const swapAttempts = 3

// swap makes database incoming the live one and keeps the live one as
// keptAs. It is one transaction: incoming gets the live database's own
// state (owner, privileges, settings, comment, connection limit), the
// sessions of both are ended, and both are renamed. A crash at any point
// therefore leaves the live name on the old database or on the new one,
// each whole, and never a database that refuses connections: nothing is
// committed outside that transaction. It returns the databases earlier
// restores kept, as they were before (incoming and keptAs aside).
func swap(ctx context.Context, db pgtarget.Database, incoming, keptAs string) ([]Kept, error) {
	live := db.Credentials().Database
	view, err := look(ctx, db, live, incoming)
	if err != nil {
		return nil, err
	}
	from, liveExists := view.state(live)
	to, ok := view.state(incoming)
	if !ok {
		return nil, fmt.Errorf("database %s is not there to swap in", incoming)
	}
	var carry []string
	if liveExists {
		carry = carrySQL(incoming, from, to)
	}
	script := swapScript(live, incoming, keptAs, liveExists, carry)
	maint := maintenanceDB(live)
	for attempt := 1; ; attempt++ {
		_, err = db.Query(ctx, maint, script)
		if err == nil || !inUse(err) || attempt == swapAttempts {
			break
		}
	}
	if err != nil {
		done, checkErr := swapped(context.WithoutCancel(ctx), db, keptAs, incoming, liveExists)
		switch {
		case done:
			err = nil // the transaction committed; only its answer was lost
		case checkErr != nil && !serverRefused(err):
			return nil, &SwapUnknownError{Database: live, Incoming: incoming, Err: err}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("swap %s in for %s: %w", incoming, live, err)
	}
	var earlier []Kept
	for _, k := range view.kept(live) {
		if k.Name != incoming && k.Name != keptAs {
			earlier = append(earlier, k)
		}
	}
	return earlier, nil
}

// swapScript is the swap's transaction. Ending the sessions inside it is
// enough: the first rename takes the database's exclusive lock, so a client
// that connects after that waits for the commit and then finds the new
// database under the name.
func swapScript(live, incoming, keptAs string, liveExists bool, carry []string) string {
	q, lit := pgtarget.QuoteIdent, pgtarget.QuoteLiteral
	var b strings.Builder
	b.WriteString("BEGIN;\n")
	for _, s := range carry {
		b.WriteString(s + ";\n")
	}
	fmt.Fprintf(&b, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN (%s, %s) AND pid <> pg_backend_pid();\n",
		lit(live), lit(incoming))
	if liveExists {
		fmt.Fprintf(&b, "ALTER DATABASE %s RENAME TO %s;\n", q(live), q(keptAs))
	}
	fmt.Fprintf(&b, "ALTER DATABASE %s RENAME TO %s;\n", q(incoming), q(live))
	b.WriteString("COMMIT;")
	return b.String()
}

// inUse reports a rename refused because a session was still connected.
func inUse(err error) bool {
	var e *pgtarget.ExitError
	return errors.As(err, &e) && e.Server != nil && e.Server.Code == "55006"
}

// serverRefused reports a statement the server refused (an ERROR, not a
// FATAL or PANIC that ends the session around it): its transaction was
// rolled back, so nothing of it committed.
func serverRefused(err error) bool {
	var e *pgtarget.ExitError
	return errors.As(err, &e) && e.Server != nil && e.Server.Severity == "ERROR"
}

// swapped asks the server whether the swap committed: the incoming name is
// gone and (when there was a live database) the kept one is there. An error
// means the server could not be asked.
func swapped(ctx context.Context, db pgtarget.Database, keptAs, incoming string, liveExists bool) (bool, error) {
	live := db.Credentials().Database
	out, err := db.Query(ctx, maintenanceDB(live), fmt.Sprintf(
		`SELECT count(*) FILTER (WHERE datname = %s) || ' ' || count(*) FILTER (WHERE datname = %s) FROM pg_database`,
		pgtarget.QuoteLiteral(keptAs), pgtarget.QuoteLiteral(incoming)))
	if err != nil {
		return false, err
	}
	want := "0 0"
	if liveExists {
		want = "1 0"
	}
	return strings.TrimSpace(out) == want, nil
}

// maintenanceDB is a database to run CREATE, DROP and RENAME DATABASE from:
// never the one being renamed.
func maintenanceDB(live string) string {
	if live == "postgres" {
		return "template1"
	}
	return "postgres"
}

func dropDatabase(ctx context.Context, db pgtarget.Database, name string) error {
	_, err := db.Query(ctx, maintenanceDB(db.Credentials().Database),
		fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, pgtarget.QuoteIdent(name)))
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
