// Package retention decides which backups to keep: the newest N, plus
// optionally the newest of each of the last D days, W weeks and M months.
// It only plans; deleting is the caller's business, and a dry run prints
// the same plan.
package retention

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Item is one backup as retention sees it.
type Item struct {
	Name string
	When time.Time // from the backup's own record or name, never the file's mtime
	Good bool      // not known to be broken: it may fill a daily, weekly or monthly keep
	// Restorable: Good, and not a restore's safety backup (the caller's
	// rule: store.Entry.Restorable). The newest such is what db:restore
	// -latest takes, and is never deleted.
	Restorable bool
	Pinned     string // kept whatever the policy says, for this reason ("just taken")
}

// Policy says what to keep. Zero values keep nothing by that rule.
type Policy struct {
	Last    int // the newest Last backups
	Daily   int // the newest backup of each of the last Daily days that have one
	Weekly  int // likewise per ISO week
	Monthly int // likewise per calendar month
}

// DefaultPolicy keeps the last 10, as the scripts stevedore replaces did.
var DefaultPolicy = Policy{Last: 10}

func (p Policy) String() string {
	parts := []string{fmt.Sprintf("last %d", p.Last)}
	for _, r := range []struct {
		n    int
		name string
	}{{p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r.name, r.n))
		}
	}
	return strings.Join(parts, ", ")
}

// Decision is what happens to one item and why.
type Decision struct {
	Item
	Keep    bool
	Reasons []string // why it is kept; empty when deleted
}

// Plan decides for every item, newest first. The newest good backup (the
// newest Restorable item) is always kept, whatever the policy says.
func Plan(items []Item, p Policy) []Decision {
	ds := make([]Decision, len(items))
	for i, it := range items {
		ds[i] = Decision{Item: it}
	}
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].When.After(ds[j].When) })

	keep := func(i int, why string) {
		ds[i].Keep = true
		ds[i].Reasons = append(ds[i].Reasons, why)
	}
	for i := range ds {
		if ds[i].Pinned != "" {
			keep(i, ds[i].Pinned)
		}
	}
	for i := 0; i < len(ds) && i < p.Last; i++ {
		keep(i, fmt.Sprintf("last %d", p.Last))
	}
	for _, b := range []struct {
		n      int
		name   string
		bucket func(time.Time) string
	}{
		{p.Daily, "daily", func(t time.Time) string { return t.Format("2006-01-02") }},
		{p.Weekly, "weekly", func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }},
		{p.Monthly, "monthly", func(t time.Time) string { return t.Format("2006-01") }},
	} {
		seen := map[string]bool{}
		for i := range ds {
			if len(seen) >= b.n {
				break
			}
			k := b.bucket(ds[i].When.Local()) // days as the user lives them
			if seen[k] || !ds[i].Good {
				continue
			}
			seen[k] = true
			keep(i, b.name+" "+k)
		}
	}
	for i := range ds {
		if ds[i].Restorable {
			if !ds[i].Keep {
				keep(i, "newest good backup")
			}
			break
		}
	}
	return ds
}

// Deletions returns the items a plan deletes.
func Deletions(ds []Decision) []Item {
	var out []Item
	for _, d := range ds {
		if !d.Keep {
			out = append(out, d.Item)
		}
	}
	return out
}
