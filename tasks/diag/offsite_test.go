package diag

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/stevedore-dev/stevedore/tasks/store"
)

func TestJudgeOffsite(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(ago time.Duration, name string, verified *store.Verification) store.Entry {
		return store.Entry{Name: name, When: now.Add(-ago), Record: &store.Record{Name: name, Verify: verified}}
	}
	bad := &store.Verification{OK: false}
	for _, c := range []struct {
		name    string
		entries []store.Entry
		err     error
		status  Status
		summary string
		next    string
	}{
		{name: "fresh", entries: []store.Entry{at(2*time.Hour, "b2", nil), at(26*time.Hour, "b1", nil)}, status: OK,
			summary: "newest good backup in s3://team/shop: b2, 2h0m0s old"},
		{name: "stale", entries: []store.Entry{at(50*time.Hour, "b1", nil)}, status: Warn, summary: "(older than 24h0m0s)", next: "go tool mage db:push"},
		{name: "only a broken one", entries: []store.Entry{at(time.Hour, "b1", bad)}, status: Warn, summary: "no good backup in s3://team/shop", next: "go tool mage db:push"},
		{name: "empty", status: Warn, summary: "no good backup", next: "go tool mage db:push"},
		{name: "refused", err: errors.New("s3://team/shop at s3.amazonaws.com: the endpoint refused the credentials"), status: Warn,
			summary: "refused the credentials", next: "go tool mage db:list -remote"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := judgeOffsite("s3://team/shop", c.entries, c.err, 24*time.Hour, now)
			assert.Equal(t, "offsite", ch.ID)
			assert.Equal(t, c.status, ch.Status)
			assert.Contains(t, ch.Summary, c.summary)
			assert.Equal(t, c.next, ch.Next)
		})
	}
}
