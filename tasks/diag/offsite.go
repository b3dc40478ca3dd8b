package diag

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/offsite"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// checkOffsite asks the bucket the settings name for its backups.
func checkOffsite(ctx context.Context, o settings.Offsite, maxAge time.Duration) Check {
	r, err := offsite.Open(ctx, o.Remote())
	if err != nil {
		return judgeOffsite("", nil, err, maxAge, time.Now())
	}
	all, err := r.List(ctx)
	return judgeOffsite(r.String(), offsite.Locals(all), err, maxAge, time.Now())
}

// judgeOffsite is the offsite check's verdict: the bucket answers and holds
// a good backup no older than maxAge.
func judgeOffsite(where string, entries []store.Entry, err error, maxAge time.Duration, now time.Time) Check {
	ch := Check{ID: "offsite", Group: "backups", Status: OK}
	if err != nil {
		ch.Status, ch.Summary, ch.Next = Warn, err.Error(), "go tool mage db:list -remote"
		return ch
	}
	newest, ok := store.NewestGood(entries)
	if !ok {
		ch.Status, ch.Summary, ch.Next = Warn, "no good backup in "+where, "go tool mage db:push"
		return ch
	}
	age := now.Sub(newest.When)
	ch.Details = map[string]string{"bucket": where, "newest": newest.Name, "age_seconds": strconv.FormatInt(int64(age.Seconds()), 10)}
	ch.Summary = fmt.Sprintf("newest good backup in %s: %s, %s old", where, newest.Name, age.Round(time.Minute))
	if age > maxAge {
		ch.Status, ch.Next = Warn, "go tool mage db:push"
		ch.Summary += fmt.Sprintf(" (older than %s)", maxAge)
	}
	return ch
}
