package tasks

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/notify"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// notified are the targets whose end a webhook hears: the ones a schedule
// or a CI pipeline runs to keep the data safe.
var notified = map[string]bool{"db:backup": true, "db:verify": true, "db:push": true}

// unattended reports whether nobody watches this run: a scheduled run
// (the schedule sets STEVEDORE_SCHEDULED), a CI job, or STEVEDORE_NOTIFY=always.
func unattended() bool {
	return os.Getenv("STEVEDORE_SCHEDULED") == "1" || os.Getenv("CI") == "true" || os.Getenv("STEVEDORE_NOTIFY") == "always"
}

// tell posts the end of an unattended run to the settings' webhook. A
// failed post is said and logged; it never changes how the run ended.
func tell(ctx context.Context, out *term.Printer, s settings.Settings, target string, runErr error, next string, took time.Duration) {
	if s.Notify == nil || !notified[target] || !unattended() {
		return
	}
	format, err := notify.ParseFormat(s.Notify.Format)
	if err != nil {
		out.Warn("no notification: %v", err)
		return
	}
	hook := notify.Hook{URL: s.Notify.URL, Format: format, OnSuccess: s.Notify.OnSuccess}
	host, _ := os.Hostname()
	ev := notify.Event{Target: target, Project: s.Project, Host: host, OK: runErr == nil, Summary: out.FirstOK(),
		At: time.Now().UTC(), Duration: took.Seconds()}
	if runErr != nil {
		ev.Summary, _, _ = strings.Cut(runErr.Error(), "\n")
		ev.Next = next
		if n := term.NextOf(runErr); n != "" {
			ev.Next = n
		}
		if errors.Is(runErr, context.Canceled) {
			ev.Summary = "interrupted"
		}
	}
	if !hook.Wants(ev) {
		return
	}
	// The run's own context may be the one that ended it (Ctrl-C).
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := notify.Send(sendCtx, hook, ev); err != nil {
		out.Warn("the notification was not delivered: %v", err)
		return
	}
	out.Detail("notified %s", hook)
}
