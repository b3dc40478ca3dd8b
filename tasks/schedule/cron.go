package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Entry is one of our crontab lines, read back.
type Entry struct {
	Project, Name string
	Schedule      string // the five cron fields, "*/15 * * * *"
	Command       string // the shell text after them, up to the marker
}

const cronMarker = " # stevedore:"

// maxCronCommand is where cron cuts a command (MAX_COMMAND in Vixie cron,
// Debian's and macOS's): the marker at the end of the line would be lost.
const maxCronCommand = 1000

// CronLine is j's crontab line (no newline): its schedule, then
//
//	cd DIR && K=V … CMD ARG… >> LOG 2>&1 # stevedore:<project>:<name>
//
// Every word is single-quoted for /bin/sh, so nothing in it expands. Cron
// itself ends the command at a bare % (the rest becomes stdin) and turns
// "\%" into "%" before the shell runs, so each % is written as "\%" outside
// the quotes, where no backslash of the word can pair with it. Environment
// variables are shell assignments rather than an env(1) call, which would
// take a command path holding "=" for one more assignment.
func CronLine(j Job) string {
	words := []string{j.Every.Cron(), "cd", cronWord(j.Dir), "&&"}
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		words = append(words, k+"="+cronWord(j.Env[k])) // k is a plain name: unquoted, or it is no assignment
	}
	for _, arg := range j.Command {
		words = append(words, cronWord(arg))
	}
	words = append(words, ">>", cronWord(j.Log), "2>&1")
	return strings.Join(words, " ") + cronMarker + jobID(j.Project, j.Name)
}

func cronWord(s string) string {
	pieces := strings.Split(s, "%")
	for i, p := range pieces {
		pieces[i] = shellQuote(p)
	}
	return strings.Join(pieces, `\%`)
}

// shellQuote single-quotes s for a POSIX shell; a ' inside ends the quotes,
// adds an escaped ', and reopens them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseCronLine reads one of our lines back (with or without its line
// ending); ok is false for any other line, including a commented-out one of
// ours, which stays the user's business.
func parseCronLine(line string) (e Entry, ok bool) {
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return Entry{}, false
	}
	at := strings.LastIndex(line, cronMarker)
	if at < 0 {
		return Entry{}, false
	}
	if e.Project, e.Name, ok = parseJobID(line[at+len(cronMarker):]); !ok {
		return Entry{}, false
	}
	fields := 5
	if strings.HasPrefix(strings.TrimSpace(line), "@") { // @daily and kin, if a user edited our line
		fields = 1
	}
	schedule, command, ok := cutFields(line[:at], fields)
	if !ok {
		return Entry{}, false
	}
	e.Schedule, e.Command = schedule, command
	return e, true
}

// cutFields splits s after its first n blank-separated fields.
func cutFields(s string, n int) (head, rest string, ok bool) {
	fields := strings.Fields(s)
	if len(fields) <= n {
		return "", "", false
	}
	rest = strings.TrimLeft(s, " \t")
	for range n {
		rest = strings.TrimLeft(rest[strings.IndexAny(rest, " \t"):], " \t")
	}
	return strings.Join(fields[:n], " "), rest, true
}

// cronLines yields the lines of a crontab with their line endings, so that
// joining them gives back the crontab byte for byte.
func cronLines(crontab string) []string {
	lines := strings.SplitAfter(crontab, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func isOurs(line, project, name string) bool {
	e, ok := parseCronLine(line)
	return ok && e.Project == project && e.Name == name
}

// AddCron puts line (from CronLine) into crontab: in place of our line for
// the same project and name (and drops any copies of it), else at the end.
// Every other line stays as it was, byte for byte.
func AddCron(crontab, line string) string {
	e, _ := parseCronLine(line)
	var b strings.Builder
	placed := false
	for _, l := range cronLines(crontab) {
		if !isOurs(l, e.Project, e.Name) {
			b.WriteString(l)
			continue
		}
		if !placed {
			b.WriteString(line + "\n")
			placed = true
		}
	}
	if !placed {
		if crontab != "" && !strings.HasSuffix(crontab, "\n") {
			b.WriteString("\n") // crontab(1) rejects a last line without its newline
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// RemoveCron takes our lines for project and name out of crontab and tells
// whether there were any. Every other line stays as it was, byte for byte.
func RemoveCron(crontab, project, name string) (string, bool) {
	var b strings.Builder
	removed := false
	for _, l := range cronLines(crontab) {
		if isOurs(l, project, name) {
			removed = true
			continue
		}
		b.WriteString(l)
	}
	return b.String(), removed
}

// ListCron returns our lines in crontab, in their order.
func ListCron(crontab string) []Entry {
	var entries []Entry
	for _, l := range cronLines(crontab) {
		if e, ok := parseCronLine(l); ok {
			entries = append(entries, e)
		}
	}
	return entries
}

// cronScheduler edits the user's crontab through crontab(1), which checks
// the result and tells the cron daemon.
type cronScheduler struct{ user string }

func (cronScheduler) Kind() string { return "cron" }

func (c cronScheduler) Install(ctx context.Context, j Job) error {
	if err := prepare(j); err != nil {
		return err
	}
	line := CronLine(j)
	if _, command, _ := cutFields(line, 5); len(command) >= maxCronCommand {
		return fmt.Errorf("schedule %s:%s: its crontab command is %d bytes, cron cuts at %d: use shorter paths", j.Project, j.Name, len(command), maxCronCommand)
	}
	return c.edit(ctx, func(crontab string) string { return AddCron(crontab, line) })
}

func (c cronScheduler) Remove(ctx context.Context, project, name string) (bool, error) {
	var removed bool
	err := c.edit(ctx, func(crontab string) string {
		var edited string
		edited, removed = RemoveCron(crontab, project, name)
		return edited
	})
	return removed, err
}

func (c cronScheduler) List(ctx context.Context, project string) ([]Installed, error) {
	crontab, err := readCrontab(ctx)
	if err != nil {
		return nil, err
	}
	var found []Installed
	for _, e := range ListCron(crontab) {
		if project == "" || e.Project == project {
			found = append(found, Installed{Kind: "cron", Project: e.Project, Name: e.Name, Schedule: e.Schedule, Where: "crontab of " + c.user})
		}
	}
	return sortInstalled(found), nil
}

// edit rewrites the crontab through change, and leaves it alone when
// change changes nothing.
func (c cronScheduler) edit(ctx context.Context, change func(string) string) error {
	crontab, err := readCrontab(ctx)
	if err != nil {
		return err
	}
	edited := change(crontab)
	if edited == crontab {
		return nil
	}
	if _, err := run(ctx, edited, "crontab", "-"); err != nil {
		return fmt.Errorf("writing the crontab of %s: %w", c.user, err)
	}
	return nil
}

// readCrontab returns the user's crontab; having none is having an empty one.
func readCrontab(ctx context.Context) (string, error) {
	crontab, err := run(ctx, "", "crontab", "-l")
	var failed *commandError
	if errors.As(err, &failed) && strings.Contains(failed.stderr, "no crontab for") {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the crontab: %w", err)
	}
	return crontab, nil
}
