// Package selftest is stevedore's own test run (the `test` target): it checks
// the Docker engine, makes the images the tests need, then runs go vet and
// every test with the race detector, and closes on one counts line.
package selftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/compose"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Commands are the go vet and go test command lines the test target runs.
// -count=1 because container tests depend on the engine and the images,
// which Go's test cache cannot see.
func Commands(verbose bool) (vet, test []string) {
	vet = []string{"go", "vet", "./..."}
	test = []string{"go", "test", "-race", "-count=1", "-timeout", "45m", "-json"}
	if verbose {
		test = append(test, "-v")
	}
	return vet, append(test, "./...")
}

// Environ is the test processes' environment: base plus the testcontainers
// settings this machine needs (where base does not set them) and a session ID
// that labels every container of this run.
func Environ(base []string, sessionID string) []string {
	env := append([]string(nil), base...)
	set := map[string]bool{}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for k, v := range tcenv.Defaults() {
		if !set[k] {
			env = append(env, k+"="+v)
		}
	}
	return append(env, "TESTCONTAINERS_SESSION_ID="+sessionID)
}

// Run is the test target.
func Run(ctx context.Context) error {
	out := term.Stdout()
	if err := run(ctx, out); err != nil {
		return out.Failed("test", err, "")
	}
	return nil
}

func run(ctx context.Context, out *term.Printer) error {
	sessionID := fmt.Sprintf("stevedore-%d", time.Now().UnixNano())
	eng, err := engine.Connect(ctx)
	switch {
	case err == nil:
		defer eng.Close()
		out.OK("Docker engine %s (API %s)", eng.Version, eng.APIVersion)
		if _, err := images.EnsureAll(ctx, out, compose.Images, images.IfChanged); err != nil {
			return err
		}
		defer sweep(context.WithoutCancel(ctx), out, eng, sessionID)
	case errors.Is(err, context.Canceled):
		return err
	case os.Getenv("CI") == "true":
		return fmt.Errorf("CI=true needs the Docker engine for the container tests: %w", err)
	default:
		out.Warn("%v: container tests will be skipped", err)
	}

	vet, test := Commands(out.Verbose())
	start := time.Now()
	if err := proc.Run(ctx, out, vet...); err != nil {
		return fmt.Errorf("go vet found problems: %w (run `go vet ./...` to see them all)", err)
	}
	out.OK("go vet ./... clean in %s", term.Duration(time.Since(start)))

	out.Step("go test -race ./... (container tests included; -v streams every test)")
	rep, err := goTest(ctx, out, test, Environ(os.Environ(), sessionID))
	if rep != nil {
		printReport(out, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("some tests failed")
	}
	return nil
}

func goTest(ctx context.Context, out *term.Printer, args, env []string) (*Report, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	stderr := &proc.Tail{}
	cmd.Stderr = io.MultiWriter(stderr, out.DetailWriter())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start go test: %w", err)
	}
	rep, readErr := ReadReport(stdout, func(r *Report, e Event) {
		switch {
		case e.Action == "output":
			fmt.Fprint(out.DetailWriter(), e.Output)
		case e.Test == "" && e.Package != "" && (e.Action == "pass" || e.Action == "fail"):
			printPackage(out, r.Packages[len(r.Packages)-1])
		}
	})
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if readErr != nil {
		return rep, readErr
	}
	if waitErr != nil && rep.OK() {
		// go test failed before reporting any test: show why.
		return rep, fmt.Errorf("go test: %w: %s", waitErr, stderr.LastLine())
	}
	return rep, nil
}

func printPackage(out *term.Printer, p PackageResult) {
	name := strings.TrimPrefix(p.Package, "github.com/stevedore-dev/stevedore/")
	counts := fmt.Sprintf("%d passed", p.Passed)
	if p.Skipped > 0 {
		counts += fmt.Sprintf(", %d skipped", p.Skipped)
	}
	if p.Action == "fail" {
		out.Fail("%s: %d failed, %s (%s)", name, p.Failed, counts, term.Duration(p.Elapsed))
		return
	}
	out.OK("%s: %s (%s)", name, counts, term.Duration(p.Elapsed))
}

// printReport prints each failure with its output, each skip with its
// reason, and the closing counts line alone, as CI reads it.
func printReport(out *term.Printer, rep *Report) {
	for _, f := range rep.Failures {
		out.Fail("%s %s", f.Package, f.Test)
		for _, line := range strings.Split(strings.TrimRight(f.Output, "\n"), "\n") {
			fmt.Fprintf(out.Writer(), "    %s\n", line)
		}
	}
	for _, s := range rep.Skips {
		out.Warn("skipped %s %s: %s", s.Package, s.Test, s.Reason)
	}
	fmt.Fprintln(out.Writer(), rep.Summary())
}

// sweep removes the containers this run's tests left behind (a test binary
// killed by a timeout runs no cleanup), found by the session label.
func sweep(ctx context.Context, out *term.Printer, eng *engine.Engine, sessionID string) {
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", tcenv.SessionLabel+"="+sessionID),
	})
	if err != nil {
		out.Warn("could not list containers left by the tests: %v", err)
		return
	}
	for _, c := range list.Items {
		if _, err := eng.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			out.Warn("could not remove container %s left by the tests: %v", c.ID[:12], err)
			continue
		}
		out.Detail("removed container %s left by the tests", c.ID[:12])
	}
}

// Bench is the bench target: the Db benchmark (a test gated by
// STEVEDORE_BENCH=1), run on its own with its report printed.
func Bench(ctx context.Context) error {
	out := term.Stdout()
	if _, err := images.EnsureAll(ctx, out, compose.Images, images.IfChanged); err != nil {
		return out.Failed("bench", err, "")
	}
	args := []string{"go", "test", "-count=1", "-run", "^TestBenchmark", "-v", "-timeout", "40m", "./tasks/"}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(Environ(os.Environ(), fmt.Sprintf("stevedore-bench-%d", time.Now().UnixNano())), "STEVEDORE_BENCH=1")
	cmd.Stdout, cmd.Stderr = out.Writer(), out.Writer()
	if err := cmd.Run(); err != nil {
		return out.Failed("bench", err, "")
	}
	return nil
}
