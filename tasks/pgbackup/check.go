package pgbackup

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Check is what a load into a scratch database proved.
type Check struct {
	Tables       int   // tables whose rows were compared, one by one
	Rows         int64 // their rows
	LargeObjects int64
	// An INSERT-style dump (pg_dump --inserts) has no per-table row count
	// to compare with: its statements are counted and must all run, and the
	// rows the server reported are shown, but not compared.
	InsertTables int
	Inserts      int64
	InsertedRows int64
	Skipped      []dumpscan.Skipped // statements about the database itself, not run
}

// Limits says what the check could not prove, or "" when it proved all.
func (c Check) Limits() string {
	if c.InsertTables == 0 {
		return ""
	}
	return fmt.Sprintf("%s filled by %s ran in full (the server stored %s), but an INSERT-style dump holds no row counts to compare them with",
		term.Plural(c.InsertTables, "table"), term.Plural(c.Inserts, "INSERT statement"), term.Plural(c.InsertedRows, "row"))
}

// compare checks, table by table, that the server stored (per psql's
// command tags) the rows each COPY of the dump holds, that every INSERT
// statement ran, and counts the large objects.
func compare(ctx context.Context, db pgtarget.Database, dbname string, scan *dumpscan.Scanner, tags pgtarget.Tags) (Check, error) {
	want := scan.Tables()
	check := Check{Tables: len(want), LargeObjects: scan.LargeObjects(), Skipped: scan.Skipped(), InsertedRows: tags.InsertedRows}
	var diffs []string
	if len(tags.Copies) != len(want) {
		diffs = append(diffs, fmt.Sprintf("the server loaded %d tables, the backup has %d", len(tags.Copies), len(want)))
	}
	for i, t := range want {
		check.Rows += t.Rows
		if i < len(tags.Copies) && tags.Copies[i] != t.Rows {
			diffs = append(diffs, fmt.Sprintf("%s: %d rows stored, the backup has %d", t.Name, tags.Copies[i], t.Rows))
		}
	}
	for _, t := range scan.Inserts() {
		check.InsertTables++
		check.Inserts += t.Rows
	}
	if tags.Inserts != check.Inserts {
		diffs = append(diffs, fmt.Sprintf("the server ran %d INSERT statements, the backup has %d", tags.Inserts, check.Inserts))
	}
	out, err := db.Query(ctx, dbname, "SELECT count(*) FROM pg_catalog.pg_largeobject_metadata")
	if err != nil {
		return check, fmt.Errorf("count large objects in the restored database: %w", err)
	}
	if got, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil || got != check.LargeObjects {
		diffs = append(diffs, fmt.Sprintf("large objects: %s, the backup has %d", strings.TrimSpace(out), check.LargeObjects))
	}
	if len(diffs) > 0 {
		return check, &MismatchError{Diffs: diffs}
	}
	return check, nil
}
