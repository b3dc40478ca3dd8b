package pgbackup

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// serverView is what one query tells of the server: its databases, and the
// state of those asked for. Every exec into a container or pod costs a
// round trip, so a step asks once for all it needs.
type serverView struct {
	Databases []dbInfo  `json:"databases"`
	States    []dbState `json:"states"`
	LockedBy  string    `json:"locked_by"` // the session of another run that holds the live database's run lock
}

// dbInfo is a database on the server and who is connected to it.
type dbInfo struct {
	Name      string   `json:"name"`
	AllowConn bool     `json:"allow_conn"`
	Sessions  []string `json:"sessions"` // the application_name of each client session
	Size      int64    `json:"size"`     // bytes; measured only for names like a kept database's or a snapshot's
}

// serverQuery lists the databases and reads the state of those named. Sizes
// are measured only where a kept database could be: walking every
// database's files would cost what the server holds.
const serverQuery = `SELECT json_build_object(
 'databases', (SELECT coalesce(json_agg(json_build_object('name', d.datname, 'allow_conn', d.datallowconn,
    'size', CASE WHEN (d.datname LIKE '%%\_\_before\_%%' OR d.datname LIKE '%%\_\_snap\_%%' OR d.datname LIKE 'stevedore\_old\_%%') AND has_database_privilege(d.oid, 'CONNECT')
      THEN pg_database_size(d.oid) ELSE 0 END,
    'sessions', (SELECT coalesce(json_agg(a.application_name), '[]') FROM pg_stat_activity a
      WHERE a.datid = d.oid AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'))), '[]')
  FROM pg_database d),
 'states', (SELECT coalesce(json_agg(row_to_json(x)), '[]') FROM (` + stateSelect + ` WHERE d.datname = ANY(%s)) x),
 'locked_by', coalesce((%s), ''))`

// look asks the server for its databases and the state of names.
func look(ctx context.Context, db pgtarget.Database, names ...string) (serverView, error) {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = pgtarget.QuoteLiteral(n)
	}
	live := db.Credentials().Database
	out, err := db.Query(ctx, maintenanceDB(live),
		fmt.Sprintf(serverQuery, "ARRAY["+strings.Join(quoted, ", ")+"]::text[]", lockHolderSQL(live)))
	if err != nil {
		return serverView{}, fmt.Errorf("list the databases on %s: %w", db.Describe(), err)
	}
	var v serverView
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &v); err != nil {
		return serverView{}, fmt.Errorf("list the databases on %s: %w", db.Describe(), err)
	}
	return v, nil
}

// otherRun says who else holds the live database's run lock ("" if no one
// or this process).
func (v serverView) otherRun() string {
	if v.LockedBy == pgtarget.AppName() {
		return ""
	}
	return v.LockedBy
}

// kept returns the databases restores kept of live, newest first.
func (v serverView) kept(live string) []Kept {
	var list []Kept
	for _, k := range keptIn(live, v.Databases) {
		list = append(list, k.Kept)
	}
	return list
}

// state returns the state of database name, if it exists and was asked for.
func (v serverView) state(name string) (dbState, bool) {
	for _, s := range v.States {
		if s.Name == name {
			return s, true
		}
	}
	return dbState{}, false
}
