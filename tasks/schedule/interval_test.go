package schedule

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustInterval(t *testing.T, s string) Interval {
	t.Helper()
	i, err := ParseInterval(s)
	require.NoError(t, err)
	return i
}

func TestParseIntervalAcceptsEachForm(t *testing.T) {
	for _, c := range []struct{ in, canonical, cron, onCalendar string }{
		{"1m", "1m", "* * * * *", "*-*-* *:*:00"},
		{"15m", "15m", "*/15 * * * *", "*-*-* *:00/15:00"},
		{"30m", "30m", "*/30 * * * *", "*-*-* *:00/30:00"},
		{"1h", "1h", "0 * * * *", "*-*-* *:00:00"},
		{"hourly", "1h", "0 * * * *", "*-*-* *:00:00"},
		{"6h", "6h", "0 */6 * * *", "*-*-* 00/6:00:00"},
		{"12h", "12h", "0 */12 * * *", "*-*-* 00/12:00:00"},
		{"daily", "daily@00:00", "0 0 * * *", "*-*-* 00:00:00"},
		{"daily@03:30", "daily@03:30", "30 3 * * *", "*-*-* 03:30:00"},
		{"daily@23:59", "daily@23:59", "59 23 * * *", "*-*-* 23:59:00"},
		{"weekly", "weekly@00:00", "0 0 * * 0", "Sun *-*-* 00:00:00"},
		{"weekly@04:05", "weekly@04:05", "5 4 * * 0", "Sun *-*-* 04:05:00"},
	} {
		t.Run(c.in, func(t *testing.T) {
			i := mustInterval(t, c.in)
			assert.Equal(t, c.canonical, i.String())
			assert.Equal(t, c.cron, i.Cron())
			assert.Equal(t, c.onCalendar, i.onCalendar())
			again := mustInterval(t, i.String())
			assert.Equal(t, i, again, "String reads back as the same Interval")
		})
	}
}

func TestParseIntervalRejectsWithTheAcceptedForms(t *testing.T) {
	for _, c := range []struct{ in, why string }{
		{"", "unknown form"},
		{"7m", "every N minutes needs N in 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30"},
		{"0m", "every N minutes"},
		{"60m", "every N minutes"},
		{"5h", "every N hours needs N in 1, 2, 3, 4, 6, 8, 12"},
		{"24h", "every N hours"},
		{"1d", "unknown form"},
		{"1h30m", "unknown form"},
		{"-1m", "unknown form"},
		{"Daily", "unknown form"},
		{"hourly@00:15", "hourly takes no time of day"},
		{"daily@3:30", "the time of day must be HH:MM"},
		{"daily@03:30:00", "the time of day must be HH:MM"},
		{"daily@24:00", "no such time of day"},
		{"weekly@12:60", "no such time of day"},
		{"monthly", "unknown form"},
	} {
		t.Run(c.in, func(t *testing.T) {
			_, err := ParseInterval(c.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.why)
			assert.Contains(t, err.Error(), "accepted: hourly, daily, daily@HH:MM, weekly, weekly@HH:MM, Nm (N divides 60) or Nh (N divides 24)")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}
