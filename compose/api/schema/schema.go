// Package schema holds the api's database migrations, so that the api
// applies them and stevedore's doctor can tell whether a database is at the
// latest version.
package schema

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one numbered schema change, and the change that reverts it
// (NNN_name.sql and NNN_name.down.sql).
type Migration struct {
	Version int
	Name    string
	SQL     string
	Down    string
}

// Migrations returns the migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(files, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*Migration{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: its name must start with a number and '_'", base)
		}
		data, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		m := byVersion[v]
		if m == nil {
			m = &Migration{Version: v}
			byVersion[v] = m
		}
		if up, down := strings.CutSuffix(base, ".down.sql"); down {
			m.Down = string(data)
			if m.Name == "" {
				m.Name = up + ".sql"
			}
		} else {
			m.Name, m.SQL = base, string(data)
		}
	}
	var out []Migration
	for _, m := range byVersion {
		if m.SQL == "" {
			return nil, fmt.Errorf("migration %s: a down migration without its migration", m.Name)
		}
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Latest is the version a database is at once every migration is applied.
func Latest() int {
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// VersionQuery returns the version a database is at (0: none applied).
const VersionQuery = `SELECT coalesce(max(version), 0) FROM schema_migrations`
