package dbops

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// ListVersion is the version of db:list's JSON schema.
const ListVersion = 1

// Listing is db:list -json. Its fields are a stable schema: new fields may
// be added; none is renamed or removed without a new version.
type Listing struct {
	Version int         `json:"version"`
	Dir     string      `json:"dir"`
	Backups []ListEntry `json:"backups"`
	// Kept are the previous databases restores kept on the server (the undo
	// of the last restore); null when the database could not be reached.
	Kept []KeptEntry `json:"kept"`
}

// ListEntry is one backup in a Listing.
type ListEntry struct {
	Name          string              `json:"name"`
	File          string              `json:"file"`
	CreatedAt     time.Time           `json:"created_at"`
	Size          int64               `json:"size"`
	Format        string              `json:"format"`               // "plain+zstd", "plain+zstd+age", or "legacy .sql", "legacy .sql.gz", "legacy .sql.zip"
	Recipients    []string            `json:"recipients,omitempty"` // the public keys an encrypted backup opens with
	Database      string              `json:"database,omitempty"`
	ServerVersion string              `json:"server_version,omitempty"`
	SHA256        string              `json:"sha256,omitempty"`
	Tables        int                 `json:"tables"`
	Rows          int64               `json:"rows"`
	Verified      *store.Verification `json:"verified"` // null: never verified
}

// KeptEntry is a previous database a restore kept, in a Listing.
type KeptEntry struct {
	Name     string     `json:"name"`
	Database string     `json:"database"` // the live database it was
	KeptAt   *time.Time `json:"kept_at"`  // null for one an earlier stevedore left
	Size     int64      `json:"size"`
}

// BuildListing turns the folder's entries and the kept databases of live
// (nil: unknown) into the JSON listing.
func BuildListing(dir string, entries []store.Entry, live string, kept []pgbackup.Kept) Listing {
	l := Listing{Version: ListVersion, Dir: dir, Backups: []ListEntry{}}
	for _, e := range entries {
		le := ListEntry{Name: e.Name, File: e.Path, CreatedAt: e.When.UTC(), Size: e.Size, Format: "legacy " + e.Legacy}
		if r := e.Record; r != nil {
			le.Format, le.Database, le.ServerVersion, le.SHA256, le.Recipients = r.Format, r.Database, r.ServerVersion, r.SHA256, r.Recipients
			le.Tables, le.Rows, le.Verified = len(r.Tables), r.Rows(), r.Verify
		}
		l.Backups = append(l.Backups, le)
	}
	if kept != nil {
		l.Kept = []KeptEntry{}
	}
	for _, k := range kept {
		ke := KeptEntry{Name: k.Name, Database: live, Size: k.Size}
		if !k.At.IsZero() {
			at := k.At.UTC()
			ke.KeptAt = &at
		}
		l.Kept = append(l.Kept, ke)
	}
	return l
}

// List is db:list: the backups newest first, then the previous database
// the last restore kept on the server, as a table or (asJSON) a Listing.
func List(ctx context.Context, cfg Config, asJSON bool) error {
	out := cfg.Out
	if asJSON {
		cfg.Out = out.Quiet() // the document alone on standard output
	}
	s := &session{cfg: cfg, store: store.At(cfg.BackupDir)}
	defer s.close()
	entries, err := s.store.List()
	if err != nil {
		return err
	}
	var kept []pgbackup.Kept
	var snapshots []pgbackup.Snapshot
	live := ""
	if s.tryConnect(ctx, "kept databases") {
		live = s.db.Credentials().Database
		s.repairIfIdle(ctx)
		if kept, err = pgbackup.KeptDatabases(ctx, s.db); err != nil {
			cfg.Out.Warn("kept databases not checked: %v", err)
		} else if kept == nil {
			kept = []pgbackup.Kept{}
		}
		if snapshots, err = pgbackup.Snapshots(ctx, s.db); err != nil {
			cfg.Out.Warn("snapshots not checked: %v", err)
		}
	}
	if asJSON {
		enc := json.NewEncoder(out.Writer())
		enc.SetIndent("", "  ")
		return enc.Encode(BuildListing(s.store.Dir, entries, live, kept))
	}
	if len(entries) == 0 {
		out.OK("no backups in %s yet", relPath(s.store.Dir))
	} else {
		writeTable(out.Writer(), entries)
	}
	if len(kept) > 0 {
		fmt.Fprintf(out.Writer(), "\nKept on the server by the last restore (not a backup: it lives and dies with the server):\n")
		for _, k := range kept {
			fmt.Fprintf(out.Writer(), "  %s  %s  %s  undo: go tool mage db:restore -undo\n", k.Name, keptTime(k), term.Bytes(k.Size))
		}
	}
	if len(snapshots) > 0 {
		var size int64
		for _, sn := range snapshots {
			size += sn.Size
		}
		fmt.Fprintf(out.Writer(), "\n%s of %s on the server, %s (%s): go tool mage db:snapshots\n",
			term.Plural(len(snapshots), "snapshot"), live, term.Bytes(size), notABackup)
	}
	if len(entries) == 0 {
		out.Next("go tool mage db:backup")
		return nil
	}
	out.OK("%s in %s", term.Plural(len(entries), "backup"), relPath(s.store.Dir))
	return nil
}

func keptTime(k pgbackup.Kept) string {
	if k.At.IsZero() {
		return "(time unknown)"
	}
	return k.At.Local().Format("2006-01-02 15:04:05")
}

// repairIfIdle repairs the server when no other run holds the folder (a
// listing never waits, and never creates the folder).
func (s *session) repairIfIdle(ctx context.Context) {
	if _, err := os.Stat(s.store.Dir); err != nil {
		s.repair(ctx) // no folder: no run of this checkout is under way
		return
	}
	l, err := s.store.Acquire(ctx, "db:list", 0)
	if err != nil {
		return // a run is under way: it repairs what it must
	}
	defer l.Release()
	s.repair(ctx)
}

func writeTable(w io.Writer, entries []store.Entry) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTAKEN\tSIZE\tDATABASE\tSERVER\tVERIFIED")
	for _, e := range entries {
		db, server, verified := "?", "?", "never"
		if r := e.Record; r != nil {
			db = r.Database
			server, _, _ = strings.Cut(r.ServerVersion, " ") // "15.18 (Debian …)" -> "15.18"
			if v := r.Verify; v != nil {
				verified = "ok " + v.At.Local().Format("2006-01-02 15:04")
				if !v.OK {
					verified = "FAILED " + v.At.Local().Format("2006-01-02 15:04")
				}
			}
		} else {
			verified = "old script's " + e.Legacy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.When.Local().Format("2006-01-02 15:04:05"), term.Bytes(e.Size), db, server, verified)
	}
	tw.Flush()
}
