package dbops

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

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
}

// ListEntry is one backup in a Listing.
type ListEntry struct {
	Name          string              `json:"name"`
	File          string              `json:"file"`
	CreatedAt     time.Time           `json:"created_at"`
	Size          int64               `json:"size"`
	Format        string              `json:"format"` // "plain+zstd", or "legacy .sql", "legacy .sql.gz", "legacy .sql.zip"
	Database      string              `json:"database,omitempty"`
	ServerVersion string              `json:"server_version,omitempty"`
	SHA256        string              `json:"sha256,omitempty"`
	Tables        int                 `json:"tables"`
	Rows          int64               `json:"rows"`
	Verified      *store.Verification `json:"verified"` // null: never verified
}

// BuildListing turns the folder's entries into the JSON listing.
func BuildListing(dir string, entries []store.Entry) Listing {
	l := Listing{Version: ListVersion, Dir: dir, Backups: []ListEntry{}}
	for _, e := range entries {
		le := ListEntry{Name: e.Name, File: e.Path, CreatedAt: e.When.UTC(), Size: e.Size, Format: "legacy " + e.Legacy}
		if r := e.Record; r != nil {
			le.Format, le.Database, le.ServerVersion, le.SHA256 = r.Format, r.Database, r.ServerVersion, r.SHA256
			le.Tables, le.Rows, le.Verified = len(r.Tables), r.Rows(), r.Verify
		}
		l.Backups = append(l.Backups, le)
	}
	return l
}

// List is db:list: newest first, as a table or (asJSON) as a Listing.
func List(cfg Config, asJSON bool) error {
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	entries, err := st.List()
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(cfg.Out.Writer())
		enc.SetIndent("", "  ")
		return enc.Encode(BuildListing(st.Dir, entries))
	}
	if len(entries) == 0 {
		cfg.Out.OK("no backups in %s yet", relPath(st.Dir))
		cfg.Out.Next("go tool mage db:backup")
		return nil
	}
	writeTable(cfg.Out.Writer(), entries)
	cfg.Out.OK("%s in %s", plural(len(entries), "backup"), relPath(st.Dir))
	return nil
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
