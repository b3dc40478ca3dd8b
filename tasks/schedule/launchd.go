package schedule

// launchd is macOS only: its Scheduler is compiled everywhere but runs and
// is tested for real only on a Mac; LaunchdPlist and the plist reader are
// tested here.

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const labelPrefix = "dev.stevedore."

// launchdLabel is "dev.stevedore.<project>.<name>": neither holds a dot, so
// the label reads back unambiguously.
func launchdLabel(project, name string) string { return labelPrefix + project + "." + name }

// plistDict is a plist <dict> whose keys keep the order they were added in.
type plistDict []plistEntry

type plistEntry struct {
	key   string
	value any // string, int, bool, []string or plistDict
}

// LaunchdPlist is j's launch agent. Sub-daily intervals use StartInterval
// (seconds since the last start); daily and weekly ones StartCalendarInterval
// at their time of day. launchd appends to StandardOutPath.
func LaunchdPlist(j Job) []byte {
	agent := plistDict{
		{"Label", launchdLabel(j.Project, j.Name)},
		{"ProgramArguments", j.Command},
		{"WorkingDirectory", j.Dir},
	}
	if len(j.Env) > 0 {
		env := plistDict{}
		for _, k := range slices.Sorted(maps.Keys(j.Env)) {
			env = append(env, plistEntry{k, j.Env[k]})
		}
		agent = append(agent, plistEntry{"EnvironmentVariables", env})
	}
	agent = append(agent, plistEntry{"StandardOutPath", j.Log}, plistEntry{"StandardErrorPath", j.Log})
	switch i := j.Every; i.unit {
	case minutes:
		agent = append(agent, plistEntry{"StartInterval", i.every * 60})
	case hours:
		agent = append(agent, plistEntry{"StartInterval", i.every * 3600})
	case days:
		agent = append(agent, plistEntry{"StartCalendarInterval", plistDict{{"Hour", i.hour}, {"Minute", i.minute}}})
	case weeks:
		agent = append(agent, plistEntry{"StartCalendarInterval", plistDict{{"Weekday", 0}, {"Hour", i.hour}, {"Minute", i.minute}}})
	}
	agent = append(agent, plistEntry{"RunAtLoad", false})

	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	writePlistValue(&b, agent, "")
	b.WriteString("</plist>\n")
	return b.Bytes()
}

func writePlistValue(b *bytes.Buffer, v any, indent string) {
	switch v := v.(type) {
	case string:
		writePlistText(b, indent, "string", v)
	case int:
		writePlistText(b, indent, "integer", strconv.Itoa(v))
	case bool:
		b.WriteString(indent + "<" + strconv.FormatBool(v) + "/>\n")
	case []string:
		b.WriteString(indent + "<array>\n")
		for _, s := range v {
			writePlistValue(b, s, indent+"\t")
		}
		b.WriteString(indent + "</array>\n")
	case plistDict:
		b.WriteString(indent + "<dict>\n")
		for _, e := range v {
			writePlistText(b, indent+"\t", "key", e.key)
			writePlistValue(b, e.value, indent+"\t")
		}
		b.WriteString(indent + "</dict>\n")
	}
}

func writePlistText(b *bytes.Buffer, indent, element, s string) {
	b.WriteString(indent + "<" + element + ">")
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
	b.WriteString("</" + element + ">\n")
}

// readPlist decodes an XML property list whose top value is a dict into
// plain Go values: map[string]any, []any, string, int and bool.
func readPlist(data []byte) (map[string]any, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	start, err := nextStart(d)
	if err == nil && start.Name.Local != "plist" {
		err = fmt.Errorf("<%s> where <plist> should be", start.Name.Local)
	}
	if err == nil {
		start, err = nextStart(d)
	}
	var top any
	if err == nil {
		top, err = readPlistValue(d, start)
	}
	if err != nil {
		return nil, fmt.Errorf("reading plist: %w", err)
	}
	dict, ok := top.(map[string]any)
	if !ok {
		return nil, errors.New("reading plist: its top value is not a dict")
	}
	return dict, nil
}

// errEnd is nextStart meeting the end of the element it was in.
var errEnd = errors.New("an element ends where a value should be")

// nextStart skips text, comments and directives to the next element, or
// returns errEnd at the end of the current one.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, errEnd
		}
	}
}

func readPlistValue(d *xml.Decoder, start xml.StartElement) (any, error) {
	switch start.Name.Local {
	case "string":
		var s string
		err := d.DecodeElement(&s, &start)
		return s, err
	case "integer":
		var s string
		if err := d.DecodeElement(&s, &start); err != nil {
			return nil, err
		}
		return strconv.Atoi(strings.TrimSpace(s))
	case "true", "false":
		return start.Name.Local == "true", d.Skip()
	case "array":
		list := []any{}
		for {
			item, err := nextStart(d)
			if errors.Is(err, errEnd) {
				return list, nil
			}
			if err != nil {
				return nil, err
			}
			v, err := readPlistValue(d, item)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
	case "dict":
		dict := map[string]any{}
		for {
			key, err := nextStart(d)
			if errors.Is(err, errEnd) {
				return dict, nil
			}
			if err != nil {
				return nil, err
			}
			var k string
			if key.Name.Local != "key" {
				return nil, fmt.Errorf("<%s> where a dict needs a <key>", key.Name.Local)
			}
			if err := d.DecodeElement(&k, &key); err != nil {
				return nil, err
			}
			value, err := nextStart(d)
			if err != nil {
				return nil, fmt.Errorf("dict key %q has no value: %w", k, err)
			}
			if dict[k], err = readPlistValue(d, value); err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("unsupported plist element <%s>", start.Name.Local)
}

// launchdSchedule describes an agent's schedule in launchd's terms:
// "StartInterval=900", "StartCalendarInterval Hour=3 Minute=30".
func launchdSchedule(agent map[string]any) string {
	if seconds, ok := agent["StartInterval"].(int); ok {
		return "StartInterval=" + strconv.Itoa(seconds)
	}
	calendar, _ := agent["StartCalendarInterval"].(map[string]any)
	words := []string{"StartCalendarInterval"}
	for _, k := range slices.Sorted(maps.Keys(calendar)) {
		words = append(words, fmt.Sprintf("%s=%v", k, calendar[k]))
	}
	return strings.Join(words, " ")
}

// launchdScheduler writes launch agents and loads them with launchctl.
type launchdScheduler struct{ dir, home string }

func (launchdScheduler) Kind() string { return "launchd" }

func (l launchdScheduler) path(project, name string) string {
	return filepath.Join(l.dir, launchdLabel(project, name)+".plist")
}

func (l launchdScheduler) Install(ctx context.Context, j Job) error {
	if err := prepare(j); err != nil {
		return err
	}
	path := l.path(j.Project, j.Name)
	_, statErr := os.Stat(path)
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
	}
	if err := os.WriteFile(path, LaunchdPlist(j), 0o644); err != nil {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
	}
	if statErr == nil {
		// launchd keeps a loaded agent's old plist until it is unloaded; an
		// agent that exists may not be loaded, so this may fail, and load
		// below reports any real problem.
		_, _ = run(ctx, "", "launchctl", "unload", path)
	}
	if _, err := run(ctx, "", "launchctl", "load", "-w", path); err != nil {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
	}
	return nil
}

func (l launchdScheduler) Remove(ctx context.Context, project, name string) (bool, error) {
	path := l.path(project, name)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if _, err := run(ctx, "", "launchctl", "unload", "-w", path); err != nil {
		return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
	}
	return true, nil
}

func (l launchdScheduler) List(ctx context.Context, project string) ([]Installed, error) {
	pattern := labelPrefix + "*.plist"
	if project != "" {
		pattern = launchdLabel(project, "*.plist")
	}
	paths, err := filepath.Glob(filepath.Join(l.dir, pattern))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", l.dir, err)
	}
	var found []Installed
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("listing schedules: %w", err)
		}
		agent, err := readPlist(data)
		if err != nil {
			return nil, fmt.Errorf("listing schedules: %s: %w", path, err)
		}
		label, _ := agent["Label"].(string)
		p, n, ok := strings.Cut(strings.TrimPrefix(label, labelPrefix), ".")
		if ok && validIDs(p, n) == nil {
			found = append(found, Installed{Kind: "launchd", Project: p, Name: n, Schedule: launchdSchedule(agent), Where: tilde(l.home, path)})
		}
	}
	return sortInstalled(found), nil
}
