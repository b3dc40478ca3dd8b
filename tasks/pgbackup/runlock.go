package pgbackup

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// runLockKey is the advisory lock a restore, verify or undo of database
// live holds on its server for the whole run: another checkout (another
// backup folder, so another folder lock) working on the same database sees
// it, and neither repairs nor reuses what the run is making.
func runLockKey(live string) int64 {
	h := fnv.New64a()
	h.Write([]byte("stevedore run of " + live))
	return int64(h.Sum64() >> 1)
}

// lockHolderSQL returns the application_name of the session holding the
// run lock of live, if another session holds it. An int8 advisory lock
// shows in pg_locks as its high and low halves, with objsubid 1.
func lockHolderSQL(live string) string {
	k := uint64(runLockKey(live))
	return fmt.Sprintf(`SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %d AND l.objid = %d AND l.objsubid = 1 AND l.pid <> pg_backend_pid() LIMIT 1`,
		k>>32, k&0xffffffff)
}

// LockServer takes the run lock of db's database for as long as release is
// not called (or this process lives). When another run holds it, it says
// who.
func LockServer(ctx context.Context, db pgtarget.Database) (release func(), err error) {
	live := db.Credentials().Database
	holder, release, err := db.Hold(ctx, maintenanceDB(live), fmt.Sprintf(
		`SELECT CASE WHEN pg_try_advisory_lock(%d) THEN '' ELSE coalesce((%s), 'another session') END`,
		runLockKey(live), lockHolderSQL(live)))
	if err != nil {
		return nil, fmt.Errorf("take the run lock of database %s: %w", live, err)
	}
	if holder != "" {
		release()
		return nil, &BusyError{Database: live, Holder: holder}
	}
	return release, nil
}
