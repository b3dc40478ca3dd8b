package retention_test

import (
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/retention"
)

// Keep the last two backups and the newest of each of the last three days;
// the newest good backup is kept whatever the policy says (here the last
// two keep it anyway).
func ExamplePlan() {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.Local) }
	items := []retention.Item{
		{Name: "backup_mon_09", When: day(23, 9), Good: false}, // failed verification
		{Name: "backup_sun_18", When: day(22, 18), Good: true, Restorable: true},
		{Name: "backup_sun_09", When: day(22, 9), Good: true, Restorable: true},
		{Name: "backup_sat_18", When: day(21, 18), Good: true, Restorable: true},
		{Name: "backup_sat_09", When: day(21, 9), Good: true, Restorable: true},
		{Name: "backup_fri_09", When: day(20, 9), Good: true, Restorable: true},
	}
	for _, d := range retention.Plan(items, retention.Policy{Last: 2, Daily: 3}) {
		verdict := "delete"
		if d.Keep {
			verdict = fmt.Sprintf("keep %v", d.Reasons)
		}
		fmt.Println(d.Name, verdict)
	}
	// Output:
	// backup_mon_09 keep [last 2]
	// backup_sun_18 keep [last 2 daily 2026-11-22]
	// backup_sun_09 delete
	// backup_sat_18 keep [daily 2026-11-21]
	// backup_sat_09 delete
	// backup_fri_09 keep [daily 2026-11-20]
}

func ExamplePolicy_String() {
	fmt.Println(retention.DefaultPolicy)
	fmt.Println(retention.Policy{Last: 3, Daily: 7, Monthly: 12})
	// Output:
	// last 10
	// last 3, daily 7, monthly 12
}
