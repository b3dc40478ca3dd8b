// Package notify posts a webhook when a scheduled or CI run (backup, verify,
// push) finishes, so a failing nightly backup is noticed the next morning
// rather than on the day a restore is needed. Delivery is best effort: Send
// returns an error for the caller to log, and a failed notification never
// fails the run it reports on.
//
// The webhook URL is a secret (Slack's carries a token in its path), so
// nothing here prints more of it than Redact does.
package notify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Format of the body.
type Format string

const (
	// Slack is Slack's incoming-webhook body, {"text": "…"}; Mattermost,
	// Rocket.Chat and Discord's /slack endpoint accept it too.
	Slack Format = "slack"
	// JSON is the Event itself, for anything that wants to parse it.
	JSON Format = "json"
)

// SchemaVersion is the "version" of the JSON body; bump it on any change a
// consumer could trip over.
const SchemaVersion = 1

// ParseFormat reads a format from configuration; "" is Slack, the common case.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return Slack, nil
	case Slack, JSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown webhook format %q: choose %s or %s", s, Slack, JSON)
}

// Hook is where and when to post.
type Hook struct {
	URL       string        // a secret: never printed, see Redact
	Format    Format        // "" is Slack
	OnSuccess bool          // also post when the run succeeded
	Attempts  int           // in total; 3 when 0
	Timeout   time.Duration // per attempt; 10s when 0
}

const (
	defaultAttempts = 3
	defaultTimeout  = 10 * time.Second
)

// String shows the hook without its secret, so it is safe to log.
func (h Hook) String() string {
	f := h.Format
	if f == "" {
		f = Slack
	}
	when := "failures only"
	if h.OnSuccess {
		when = "failures and successes"
	}
	return fmt.Sprintf("%s (%s, %s)", Redact(h.URL), f, when)
}

// GoString keeps %#v from printing the URL too.
func (h Hook) GoString() string { return "notify.Hook{" + h.String() + "}" }

// Wants says whether ev is worth a post: failures always, successes only
// when asked for, so a channel is not trained to ignore the hook.
func (h Hook) Wants(ev Event) bool { return !ev.OK || h.OnSuccess }

// Event is one finished run.
type Event struct {
	Version  int       `json:"version"` // SchemaVersion; Body sets it
	Target   string    `json:"target"`  // "db:backup"
	Project  string    `json:"project"`
	Host     string    `json:"host"`
	OK       bool      `json:"ok"`
	Summary  string    `json:"summary"`        // one line: "backup backup_20261124_030000: 650 MB in 41s" or the error line
	Next     string    `json:"next,omitempty"` // the command to run when it failed
	At       time.Time `json:"at"`
	Duration float64   `json:"duration_seconds"`
}

// Body is the request body for ev in format f.
func Body(f Format, ev Event) ([]byte, error) {
	switch f {
	case Slack, "":
		return json.Marshal(struct {
			Text string `json:"text"`
		}{slackText(ev)})
	case JSON:
		ev.Version = SchemaVersion
		return json.Marshal(ev)
	}
	return nil, fmt.Errorf("unknown webhook format %q: choose %s or %s", f, Slack, JSON)
}

// slackText is one line a person reads in a channel, plus the command to
// run on failure: "✗ shop db:backup failed on host-1: <summary>".
func slackText(ev Event) string {
	var b strings.Builder
	mark, verb := "✓", "succeeded"
	if !ev.OK {
		mark, verb = "✗", "failed"
	}
	b.WriteString(mark)
	for _, s := range []string{ev.Project, ev.Target, verb} {
		if s != "" {
			b.WriteString(" " + s)
		}
	}
	if ev.Host != "" {
		b.WriteString(" on " + ev.Host)
	}
	if ev.Summary != "" {
		b.WriteString(": " + ev.Summary)
	}
	if !ev.OK && ev.Next != "" {
		b.WriteString("\nnext: `" + ev.Next + "`")
	}
	return slackEscape.Replace(b.String())
}

// slackEscape is what Slack requires escaped in text: unescaped, an error
// line's "<nil>" or a "<name>" placeholder in Next would be read as a link.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Redact shows a webhook URL as scheme://host/…: enough to tell which
// service is meant, without the token that lives in the path, the query or
// the user info.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
