package schedule

import (
	"sort"
	"strings"
)

// ScheduledEnv marks a run the scheduler started: it tells the webhook.
const ScheduledEnv = "STEVEDORE_SCHEDULED"

// carried are the variables a scheduled run keeps from the shell that
// installed it, besides STEVEDORE_*: where the tools and the engine are.
var carried = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LANG": true, "TZ": true,
	"DOCKER_HOST": true, "DOCKER_CONTEXT": true, "KUBECONFIG": true, "COMPOSE_FILE": true, "COMPOSE_PROJECT_NAME": true,
	"COMPOSE_PROFILES": true, "GOFLAGS": true, "GOPATH": true, "GOCACHE": true, "GOMODCACHE": true,
	"AWS_REGION": true, "AWS_ENDPOINT_URL": true, "AWS_ENDPOINT_URL_S3": true,
}

// secretValued are settings whose value is a secret though their name
// does not say so.
var secretValued = map[string]bool{"STEVEDORE_AGE_IDENTITY": true, "STEVEDORE_WEBHOOK_URL": true}

// RunEnv is the environment a scheduled run gets: the settings of the
// shell that installed it (environ, as os.Environ gives it), so the run
// finds the same database and folder, without a single secret, which the
// run reads from the project's settings file instead; and ScheduledEnv.
func RunEnv(environ []string) map[string]string {
	env := map[string]string{ScheduledEnv: "1"}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if k == "STEVEDORE_AGE_RECIPIENTS" {
			v = oneLine(v)
		}
		if !ok || v == "" || secretValued[k] || secretName.MatchString(k) || !envName.MatchString(k) || plainText(v) != nil {
			continue
		}
		if carried[k] || strings.HasPrefix(k, "STEVEDORE_") {
			env[k] = v
		}
	}
	return env
}

// oneLine writes a list given one entry per line as the comma-separated
// list it may also be: a crontab line holds no newline.
func oneLine(v string) string {
	var entries []string
	for _, l := range strings.FieldsFunc(v, func(c rune) bool { return c == '\n' || c == '\r' || c == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			entries = append(entries, l)
		}
	}
	return strings.Join(entries, ",")
}

// Dropped are the variables of environ that stevedore reads but a
// scheduled run does not get, because their values are secrets: the
// installer says so, since the run must then find them in the project's
// settings file.
func Dropped(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && v != "" && (secretValued[k] || (secretName.MatchString(k) && (strings.HasPrefix(k, "STEVEDORE_") || strings.HasPrefix(k, "AWS_")))) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
