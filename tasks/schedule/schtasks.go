package schedule

// Task Scheduler is Windows only: its Scheduler is compiled everywhere but
// runs and is tested for real only on Windows; SchtasksArgs is tested here.

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// taskName is "stevedore\<project>\<name>": a task folder per project, so a
// task's path reads back as its project and name unambiguously.
func taskName(project, name string) string { return `stevedore\` + project + `\` + name }

// maxTaskRun is the longest /TR schtasks accepts.
const maxTaskRun = 261

// SchtasksArgs is the schtasks argv (without "schtasks") that creates, or
// replaces, j's task. Task Scheduler has no working folder, environment or
// output file for a /TR command, so the command runs through cmd.exe:
//
//	cmd.exe /d /v:off /s /c "cd /d "DIR" && set "K=V" && "CMD" "ARG" >> "LOG" 2>&1"
//
// Inside double quotes cmd.exe keeps & | < > ^ ( ) literal, but it expands
// %VAR% everywhere and a " ends the quotes: no escape for either survives
// every position, so a Job holding % or " is refused here. By default the
// task runs only while the user is logged on.
func SchtasksArgs(j Job) ([]string, error) {
	fail := func(format string, a ...any) ([]string, error) {
		return nil, fmt.Errorf("schedule %s:%s: "+format, append([]any{j.Project, j.Name}, a...)...)
	}
	words := []string{"cd", "/d", cmdQuote(j.Dir), "&&"}
	checked := append([]string{j.Dir, j.Log}, j.Command...)
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		words = append(words, "set", cmdQuote(k+"="+j.Env[k]), "&&")
		checked = append(checked, j.Env[k])
	}
	for _, s := range checked {
		if strings.ContainsAny(s, `%"`) {
			return fail("%q holds %% or \", which cmd.exe cannot pass on literally (Task Scheduler runs the command through it)", s)
		}
	}
	for _, arg := range j.Command {
		words = append(words, argvQuote(arg))
	}
	words = append(words, ">>", cmdQuote(j.Log), "2>&1")
	taskRun := `cmd.exe /d /v:off /s /c "` + strings.Join(words, " ") + `"`
	if len(taskRun) > maxTaskRun {
		return fail("its command line is %d characters, Task Scheduler takes at most %d: use shorter paths or fewer variables", len(taskRun), maxTaskRun)
	}
	args := []string{"/Create", "/F", "/TN", taskName(j.Project, j.Name)}
	switch i := j.Every; i.unit {
	case minutes:
		args = append(args, "/SC", "MINUTE", "/MO", fmt.Sprint(i.every))
	case hours:
		args = append(args, "/SC", "HOURLY", "/MO", fmt.Sprint(i.every))
	case days:
		args = append(args, "/SC", "DAILY", "/ST", fmt.Sprintf("%02d:%02d", i.hour, i.minute))
	case weeks:
		args = append(args, "/SC", "WEEKLY", "/D", "SUN", "/ST", fmt.Sprintf("%02d:%02d", i.hour, i.minute))
	}
	return append(args, "/TR", taskRun), nil
}

// cmdQuote quotes a word for cmd.exe's own commands (cd, set, >>).
func cmdQuote(s string) string { return `"` + s + `"` }

// argvQuote quotes an argument for the program's own command-line parsing
// (CommandLineToArgvW rules): backslashes are literal except before a ",
// so those ending the argument are doubled to not escape the closing quote.
func argvQuote(s string) string {
	trailing := len(s) - len(strings.TrimRight(s, `\`))
	return `"` + s + strings.Repeat(`\`, trailing) + `"`
}

// schtasksScheduler drives schtasks.exe.
type schtasksScheduler struct{}

func (schtasksScheduler) Kind() string { return "schtasks" }

func (schtasksScheduler) Install(ctx context.Context, j Job) error {
	if err := prepare(j); err != nil {
		return err
	}
	args, err := SchtasksArgs(j)
	if err != nil {
		return err
	}
	if _, err := run(ctx, "", append([]string{"schtasks"}, args...)...); err != nil {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
	}
	return nil
}

func (s schtasksScheduler) Remove(ctx context.Context, project, name string) (bool, error) {
	tasks, err := s.List(ctx, project)
	if err != nil {
		return false, err
	}
	if !slices.ContainsFunc(tasks, func(t Installed) bool { return t.Name == name }) {
		return false, nil
	}
	if _, err := run(ctx, "", "schtasks", "/Delete", "/F", "/TN", taskName(project, name)); err != nil {
		return false, fmt.Errorf("schedule %s:%s: %w", project, name, err)
	}
	return true, nil
}

// List reads `schtasks /Query /FO CSV /NH`, whose columns (task, next run,
// status) stay in place whatever the system's language.
func (schtasksScheduler) List(ctx context.Context, project string) ([]Installed, error) {
	out, err := run(ctx, "", "schtasks", "/Query", "/FO", "CSV", "/NH")
	if err != nil {
		return nil, fmt.Errorf("listing scheduled tasks: %w", err)
	}
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("listing scheduled tasks: %w", err)
	}
	var found []Installed
	for _, row := range rows {
		rest, ours := strings.CutPrefix(row[0], `\stevedore\`)
		p, n, _ := strings.Cut(rest, `\`)
		if !ours || len(row) < 2 || validIDs(p, n) != nil || (project != "" && p != project) {
			continue
		}
		found = append(found, Installed{Kind: "schtasks", Project: p, Name: n, Schedule: "next run " + row[1], Where: `Task Scheduler \` + taskName(p, n)})
	}
	return sortInstalled(found), nil
}
