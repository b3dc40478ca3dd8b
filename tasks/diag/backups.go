package diag

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/store"
)

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
	var lastVerify *store.Verification
	var verifiedName string
	for _, e := range entries {
		if v := e.Verified(); v != nil && (lastVerify == nil || v.At.After(lastVerify.At)) {
			lastVerify, verifiedName = v, e.Name
		}
	}
	newest, ok := store.NewestGood(entries)
	if !ok {
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
