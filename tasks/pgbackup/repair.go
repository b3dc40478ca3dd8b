package pgbackup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// Leftovers says what of an interrupted run stevedore found on the server.
type Leftovers struct {
	Repaired []string // what was done, for people
	Busy     []string // what was left alone because a live session uses it
}

// repairPlan is what Repair will do; planRepair decides it from the
// inventory alone, so every case is tested without a server.
type repairPlan struct {
	allowConnections bool
	drop             []planned
	busy             []string
}

type planned struct{ name, why string }

// planRepair finds the marks an interrupted restore or verify of live can
// leave: scratch databases, more than one kept previous database, and a
// live database refusing connections where an earlier stevedore's scratch
// or parked database shows that its swap left it so (that swap committed
// the refusal first). Nothing is touched while another run holds the run
// lock (otherRun), nor any database a live session uses: stevedore's own
// sessions name their process (pgtarget.AppName), so those of a process
// that died are not in the way. orphan tells them apart.
func planRepair(live string, dbs []dbInfo, otherRun string, orphan func(appName string) bool) repairPlan {
	var p repairPlan
	if otherRun != "" {
		p.busy = []string{fmt.Sprintf("a restore, verify or undo of %s is under way (%s): nothing repaired meanwhile", live, otherRun)}
		return p
	}
	free := func(d dbInfo) bool {
		for _, s := range d.Sessions {
			if !orphan(s) {
				return false
			}
		}
		return true
	}
	scratch := map[string]string{
		ScratchName(live, roleRestore):  "the scratch database of an interrupted restore",
		ScratchName(live, roleVerify):   "the scratch database of an interrupted verify",
		ScratchName(live, roleRollback): "the copy of a snapshot an interrupted rollback made",
	}
	refusing, marked := false, false
	for _, d := range dbs {
		refusing = refusing || d.Name == live && !d.AllowConn
		marked = marked || d.Name == ScratchName(live, roleRestore) || d.Name == ScratchName(live, roleOld)
		if why, ok := scratch[d.Name]; ok {
			if free(d) {
				p.drop = append(p.drop, planned{name: d.Name, why: why})
			} else {
				p.busy = append(p.busy, fmt.Sprintf("%s is in use (%s)", d.Name, strings.Join(d.Sessions, ", ")))
			}
		}
	}
	p.allowConnections = refusing && marked
	kept := keptIn(live, dbs)
	for _, k := range kept[min(1, len(kept)):] {
		if free(k.info) {
			p.drop = append(p.drop, planned{name: k.Name, why: "an older previous database; a restore keeps only the newest"})
		} else {
			p.busy = append(p.busy, fmt.Sprintf("%s is in use (%s)", k.Name, strings.Join(k.info.Sessions, ", ")))
		}
	}
	return p
}

type keptInfo struct {
	Kept
	info dbInfo
}

// keptIn finds the databases restores kept of live among dbs, newest first.
func keptIn(live string, dbs []dbInfo) []keptInfo {
	var kept []keptInfo
	for _, d := range dbs {
		if at, ok := KeptTime(d.Name, live); ok {
			kept = append(kept, keptInfo{Kept{Name: d.Name, At: at, Size: d.Size}, d})
		}
	}
	slices.SortStableFunc(kept, func(a, b keptInfo) int { return b.At.Compare(a.At) })
	return kept
}

// Repair undoes the marks of interrupted runs on live's server (see
// planRepair) and says what it did.
func Repair(ctx context.Context, db pgtarget.Database) (Leftovers, error) {
	view, err := look(ctx, db)
	if err != nil {
		return Leftovers{}, err
	}
	live := db.Credentials().Database
	p := planRepair(live, view.Databases, view.otherRun(), pgtarget.OrphanSession)
	l := Leftovers{Busy: p.busy}
	if p.allowConnections {
		if _, err := db.Query(ctx, maintenanceDB(live), fmt.Sprintf(`ALTER DATABASE %s WITH ALLOW_CONNECTIONS true`, pgtarget.QuoteIdent(live))); err != nil {
			return l, fmt.Errorf("allow connections to database %s again: %w", live, err)
		}
		l.Repaired = append(l.Repaired, fmt.Sprintf("database %s refused connections (an interrupted restore left it so): connections allowed again", live))
	}
	for _, d := range p.drop {
		if err := dropDatabase(ctx, db, d.name); err != nil {
			return l, err
		}
		l.Repaired = append(l.Repaired, fmt.Sprintf("dropped %s, %s", d.name, d.why))
	}
	return l, nil
}

// createScratch creates the empty database name beside the live one, with
// the live database's owner, encoding, locale and tablespace. A database of
// that name left by a run that died is dropped first; another run's run
// lock, or a live session on it, means another restore or verify is under
// way, and nothing is touched.
func createScratch(ctx context.Context, db pgtarget.Database, name string) error {
	live := db.Credentials().Database
	view, err := look(ctx, db, live)
	if err != nil {
		return err
	}
	if other := view.otherRun(); other != "" {
		return &BusyError{Database: live, Holder: other}
	}
	for _, d := range view.Databases {
		if d.Name != name {
			continue
		}
		for _, s := range d.Sessions {
			if !pgtarget.OrphanSession(s) {
				return &BusyError{Database: live, Holder: fmt.Sprintf("%s is in use by %q", name, s)}
			}
		}
		if err := dropDatabase(ctx, db, name); err != nil {
			return err
		}
	}
	st, ok := view.state(live)
	if !ok {
		return fmt.Errorf("database %s not found on %s", live, db.Describe())
	}
	if _, err := db.Query(ctx, maintenanceDB(live), createSQL(name, st)); err != nil {
		if !serverRefused(err) {
			// The create may have committed with its answer lost (the
			// connection dropped): the name was free a moment ago, under
			// the run lock, so a database of that name now is this run's.
			_ = dropDatabase(context.WithoutCancel(ctx), db, name)
		}
		return fmt.Errorf("create scratch database %s: %w", name, err)
	}
	return nil
}
