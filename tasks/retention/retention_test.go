package retention

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// series makes n good backups, one every step, the newest at t0.
func series(n int, step time.Duration) []Item {
	var out []Item
	for i := 0; i < n; i++ {
		out = append(out, Item{Name: fmt.Sprintf("b%02d", i), When: t0.Add(-time.Duration(i) * step), Good: true, Restorable: true})
	}
	return out
}

func names(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// The backup a run just took is kept even when a clock set back made it
// look older than all the others.
func TestPlanKeepsThePinnedBackupWhateverItsTime(t *testing.T) {
	items := series(11, time.Hour)
	items = append(items, Item{Name: "just_taken", When: t0.Add(-1000 * time.Hour), Good: true, Pinned: "just taken"})
	plan := Plan(items, DefaultPolicy)
	assert.Equal(t, []string{"b10"}, names(Deletions(plan)), "the oldest of the others goes instead")
	for _, d := range plan {
		if d.Name == "just_taken" {
			assert.Equal(t, []string{"just taken"}, d.Reasons)
		}
	}
	assert.Empty(t, Deletions(Plan(items[11:], Policy{})), "pinned alone")
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		items   []Item
		policy  Policy
		deleted []string
	}{
		{"nothing to do", series(3, time.Hour), DefaultPolicy, nil},
		{"keeps the last 10", series(12, time.Hour), DefaultPolicy, []string{"b10", "b11"}},
		{"keep 0 still keeps the newest good", series(3, time.Hour), Policy{}, []string{"b01", "b02"}},
		{"daily keeps one per day", series(6, 12*time.Hour), Policy{Last: 1, Daily: 3},
			// b00 12:00 d23, b01 00:00 d23, b02 12:00 d22, b03 00:00 d22, b04 d21 12:00, b05 d21 00:00
			[]string{"b01", "b03", "b05"}},
		{"weekly", series(21, 24*time.Hour), Policy{Weekly: 3},
			// 2026-11-23 is a Monday: b00 alone in its week, b01..b07 the week before, b08..b14 the one before
			[]string{"b02", "b03", "b04", "b05", "b06", "b07", "b09", "b10", "b11", "b12", "b13", "b14", "b15", "b16", "b17", "b18", "b19", "b20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.deleted, names(Deletions(Plan(tt.items, tt.policy))))
		})
	}
}

func TestPlanMonthlyKeepsTheNewestOfEachMonth(t *testing.T) {
	ds := Plan(series(70, 24*time.Hour), Policy{Monthly: 3})
	var kept []string
	for _, d := range ds {
		if d.Keep {
			kept = append(kept, d.Name+" "+d.When.Format("2006-01-02"))
		}
	}
	assert.Equal(t, []string{"b00 2026-11-23", "b23 2026-10-31", "b54 2026-09-30"}, kept)
}

func TestPlanNeverDeletesTheNewestGoodBackup(t *testing.T) {
	items := series(4, time.Hour)
	items[0].Good, items[1].Good = false, false // the two newest failed verification
	items[0].Restorable, items[1].Restorable = false, false
	ds := Plan(items, Policy{Last: 1})
	assert.Equal(t, []string{"b01", "b03"}, names(Deletions(ds)))
	assert.Equal(t, []string{"newest good backup"}, ds[2].Reasons)
}

// A restore's safety backup may fill a daily keep, but "the newest good
// backup" is the one db:restore -latest takes, which never is one.
func TestPlanProtectsTheNewestRestorableNotASafetyBackup(t *testing.T) {
	items := series(3, 24*time.Hour)
	items[0].Restorable = false // pre-restore_…: good, not "the latest"
	ds := Plan(items, Policy{Daily: 1})
	assert.Equal(t, []string{"daily " + t0.Local().Format("2006-01-02")}, ds[0].Reasons, "the safety backup is the day's newest")
	assert.Equal(t, []string{"newest good backup"}, ds[1].Reasons)
	assert.Equal(t, []string{"b02"}, names(Deletions(ds)))
}

func TestPlanUsesTheBackupsOwnTimeNotInputOrder(t *testing.T) {
	items := []Item{
		{Name: "old", When: t0.Add(-48 * time.Hour), Good: true},
		{Name: "new", When: t0, Good: true},
	}
	assert.Equal(t, []string{"old"}, names(Deletions(Plan(items, Policy{Last: 1}))))
}

func TestPolicyString(t *testing.T) {
	assert.Equal(t, "last 10", DefaultPolicy.String())
	assert.Equal(t, "last 3, daily 7, monthly 12", Policy{Last: 3, Daily: 7, Monthly: 12}.String())
}
