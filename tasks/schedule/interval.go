package schedule

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// unit is what an Interval counts in.
type unit int

const (
	minutes unit = iota + 1 // zero stays "no interval", which Validate rejects
	hours
	days
	weeks
)

// Interval is how often a Job runs. Every form maps exactly onto cron,
// systemd, launchd and Task Scheduler, so a schedule means the same thing
// wherever it is installed. Daily and weekly runs happen at a wall-clock time
// of the machine (or, for a CronJob, of the cluster, usually UTC); weekly is
// Sunday, like cron's @weekly.
type Interval struct {
	unit         unit
	every        int // runs every this many units; 1 for days and weeks
	hour, minute int // time of day of daily and weekly runs
}

// Steps that divide an hour or a day evenly: cron restarts "*/7" at each
// hour, so any other step would not be a fixed interval.
var (
	minuteSteps = []int{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30}
	hourSteps   = []int{1, 2, 3, 4, 6, 8, 12}
)

const acceptedForms = "hourly, daily, daily@HH:MM, weekly, weekly@HH:MM, Nm (N divides 60) or Nh (N divides 24)"

var (
	stepForm = regexp.MustCompile(`^([0-9]+)([mh])$`)
	timeForm = regexp.MustCompile(`^([0-9]{2}):([0-9]{2})$`)
)

// ParseInterval reads "hourly", "daily", "daily@03:30", "weekly",
// "weekly@03:30", "15m", "1h", "6h", "1m"….
func ParseInterval(s string) (Interval, error) {
	fail := func(why string) (Interval, error) {
		return Interval{}, fmt.Errorf("schedule %q: %s; accepted: %s", s, why, acceptedForms)
	}
	if m := stepForm.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1]) // the pattern admits digits only
		if m[2] == "m" {
			if !slices.Contains(minuteSteps, n) {
				return fail(fmt.Sprintf("every N minutes needs N in %s", joinInts(minuteSteps)))
			}
			return Interval{unit: minutes, every: n}, nil
		}
		if !slices.Contains(hourSteps, n) {
			return fail(fmt.Sprintf("every N hours needs N in %s", joinInts(hourSteps)))
		}
		return Interval{unit: hours, every: n}, nil
	}
	word, at, timed := strings.Cut(s, "@")
	var u unit
	switch word {
	case "hourly":
		if timed {
			return fail("hourly takes no time of day")
		}
		return Interval{unit: hours, every: 1}, nil
	case "daily":
		u = days
	case "weekly":
		u = weeks
	default:
		return fail("unknown form")
	}
	if !timed {
		return Interval{unit: u, every: 1}, nil
	}
	m := timeForm.FindStringSubmatch(at)
	if m == nil {
		return fail("the time of day must be HH:MM, 24-hour")
	}
	hour, _ := strconv.Atoi(m[1])
	minute, _ := strconv.Atoi(m[2])
	if hour > 23 || minute > 59 {
		return fail("no such time of day")
	}
	return Interval{unit: u, every: 1, hour: hour, minute: minute}, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// String gives the canonical form ParseInterval reads back: "15m", "1h",
// "daily@03:30", "weekly@00:00".
func (i Interval) String() string {
	switch i.unit {
	case minutes:
		return fmt.Sprintf("%dm", i.every)
	case hours:
		return fmt.Sprintf("%dh", i.every)
	case days:
		return fmt.Sprintf("daily@%02d:%02d", i.hour, i.minute)
	case weeks:
		return fmt.Sprintf("weekly@%02d:%02d", i.hour, i.minute)
	}
	return ""
}

// Cron gives the five-field cron expression: crontab lines and Kubernetes
// CronJobs.
func (i Interval) Cron() string {
	switch i.unit {
	case minutes:
		return cronStep(i.every) + " * * * *"
	case hours:
		return "0 " + cronStep(i.every) + " * * *"
	case days:
		return fmt.Sprintf("%d %d * * *", i.minute, i.hour)
	case weeks:
		return fmt.Sprintf("%d %d * * 0", i.minute, i.hour)
	}
	return ""
}

func cronStep(n int) string {
	if n == 1 {
		return "*"
	}
	return "*/" + strconv.Itoa(n)
}

// onCalendar gives the systemd calendar expression (systemd.time(7)).
func (i Interval) onCalendar() string {
	switch i.unit {
	case minutes:
		if i.every == 1 {
			return "*-*-* *:*:00"
		}
		return fmt.Sprintf("*-*-* *:00/%d:00", i.every)
	case hours:
		if i.every == 1 {
			return "*-*-* *:00:00"
		}
		return fmt.Sprintf("*-*-* 00/%d:00:00", i.every)
	case days:
		return fmt.Sprintf("*-*-* %02d:%02d:00", i.hour, i.minute)
	case weeks:
		return fmt.Sprintf("Sun *-*-* %02d:%02d:00", i.hour, i.minute)
	}
	return ""
}
