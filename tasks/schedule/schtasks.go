package schedule

// Task Scheduler is Windows only: its Scheduler is compiled everywhere but
// runs and is tested for real only on Windows; SchtasksArgs is tested here.

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// taskName is "stevedore\<project>\<name>": a task folder per project, so a
// task's path reads back as its project and name unambiguously.
func taskName(project, name string) string { return `stevedore\` + project + `\` + name }

// maxTaskRun is the longest /TR schtasks accepts.
const maxTaskRun = 261

// SchtasksScript is the batch file a task runs: Task Scheduler has no
// working folder, environment or output file for a command, and its /TR
// holds at most 261 characters, so they live in a file beside the log:
//
//	@echo off
//	cd /d "DIR" || exit /b 1
//	set "K=V"
//	"CMD" "ARG" >> "LOG" 2>&1
//
// Inside double quotes cmd.exe keeps & | < > ^ ( ) literal; a % is
// written %% (a batch file's literal percent). A " ends the quotes, and no
// escape for it survives every position, so a Job holding one is refused.
func SchtasksScript(j Job) (string, error) {
	checked := append([]string{j.Dir, j.Log}, j.Command...)
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		checked = append(checked, k, j.Env[k])
	}
	for _, s := range checked {
		if strings.Contains(s, `"`) {
			return "", fmt.Errorf("schedule %s:%s: %q holds \", which cmd.exe cannot pass on literally (Task Scheduler runs the command through it)", j.Project, j.Name, s)
		}
	}
	lines := []string{"@echo off", "cd /d " + batchQuote(j.Dir) + " || exit /b 1"}
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		lines = append(lines, "set "+batchQuote(k+"="+j.Env[k]))
	}
	words := make([]string, len(j.Command))
	for i, arg := range j.Command {
		words[i] = strings.ReplaceAll(argvQuote(arg), "%", "%%")
	}
	lines = append(lines, strings.Join(words, " ")+" >> "+batchQuote(j.Log)+" 2>&1")
	return strings.Join(lines, "\r\n") + "\r\n", nil
}

// SchtasksScriptPath is where j's batch file lives: beside its log.
func SchtasksScriptPath(j Job) string { return strings.TrimSuffix(j.Log, ".log") + ".cmd" }

// SchtasksArgs is the schtasks argv (without "schtasks") that creates, or
// replaces, j's task: cmd.exe running SchtasksScript's file. By default the
// task runs only while the user is logged on.
func SchtasksArgs(j Job) ([]string, error) {
	script := SchtasksScriptPath(j)
	if strings.ContainsAny(script, `%"`) {
		return nil, fmt.Errorf("schedule %s:%s: the log's folder %q holds %% or \": choose another state folder", j.Project, j.Name, script)
	}
	taskRun := `cmd.exe /d /c ` + cmdQuote(script)
	if len(taskRun) > maxTaskRun {
		return nil, fmt.Errorf("schedule %s:%s: its command line is %d characters, Task Scheduler takes at most %d: use a shorter state folder", j.Project, j.Name, len(taskRun), maxTaskRun)
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

// batchQuote quotes a word for cmd.exe's own commands (cd, set, >>) in a
// batch file, where a literal % is %%.
func batchQuote(s string) string { return cmdQuote(strings.ReplaceAll(s, "%", "%%")) }

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
	script, err := SchtasksScript(j)
	if err != nil {
		return err
	}
	args, err := SchtasksArgs(j)
	if err != nil {
		return err
	}
	if err := os.WriteFile(SchtasksScriptPath(j), []byte(script), 0o644); err != nil {
		return fmt.Errorf("schedule %s:%s: %w", j.Project, j.Name, err)
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
