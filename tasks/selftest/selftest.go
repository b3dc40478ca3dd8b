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
	"path/filepath"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/compose"
	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/minioserver"
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

// Platform is an operating system and architecture stevedore builds for.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Platforms are those a team's machines run: Linux servers and CI, macOS
// and Windows laptops, each on amd64 and arm64.
var Platforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// CrossCommands are the command lines that prove the module builds and
// vets for p, and the environment they need on top of this process's.
func CrossCommands(p Platform) (env []string, cmds [][]string) {
	return []string{"GOOS=" + p.OS, "GOARCH=" + p.Arch, "CGO_ENABLED=0"},
		[][]string{{"go", "build", "./..."}, {"go", "vet", "./..."}}
}

// Environ is the test processes' environment: base plus the testcontainers
// settings this machine needs (where base does not set them) and a session ID
// that labels every container of this run.
func Environ(base []string, sessionID, sessionDir string) []string {
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
	return append(env, "TESTCONTAINERS_SESSION_ID="+sessionID, tcenv.SessionEnv+"="+sessionDir, "TMPDIR="+sessionDir)
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
	sessionID, sessionDir, err := newSession("stevedore")
	if err != nil {
		return err
	}
	defer os.RemoveAll(sessionDir)
	eng, err := engine.Connect(ctx)
	switch {
	case err == nil:
		defer eng.Close()
		out.OK("Docker engine %s (API %s)", eng.Version, eng.APIVersion)
		if _, err := images.EnsureAll(ctx, out, compose.Images, images.IfChanged); err != nil {
			return err
		}
		defer sweep(context.WithoutCancel(ctx), out, eng, sessionID, sessionDir)
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
	if err := crossCompile(ctx, out); err != nil {
		return err
	}

	env := Environ(os.Environ(), sessionID, sessionDir)
	bin, err := minioBinary(ctx, out)
	if err = optional(out, err, "the offsite tests"); err != nil {
		return err
	}
	if bin != "" {
		env = append(env, minioserver.BinaryEnv+"="+bin)
	}
	if err := prepareHost(ctx, out); err != nil {
		return err
	}
	rep := NewReport()
	out.Step("go test -race ./... (container tests included; -v streams every test)")
	err = goTest(ctx, out, rep, test, env)
	if err == nil && rep.OK() && len(composecli.Installed(ctx)) == 2 {
		// The suite drove Compose v2; the stack's own tests run again
		// through v1, which many machines still have alone.
		out.Step("the stack's tests again through Compose v1 (STEVEDORE_COMPOSE=v1)")
		err = goTest(ctx, out, rep, ComposeV1Pass(out.Verbose()), append(env, "STEVEDORE_COMPOSE=v1"))
	}
	printReport(out, rep)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("some tests failed")
	}
	return nil
}

// optional lets the tests of what failed to be prepared be skipped, with a
// warning, except under CI=true where everything must run.
func optional(out *term.Printer, err error, tests string) error {
	if err == nil || errors.Is(err, context.Canceled) || os.Getenv("CI") == "true" {
		return err
	}
	out.Warn("%v: %s will be skipped", err, tests)
	return nil
}

// minioBinary builds (once per version) the MinIO server the offsite tests
// run, saying so when that takes minutes.
func minioBinary(ctx context.Context, out *term.Printer) (string, error) {
	dir, err := minioserver.CacheDir()
	if err != nil {
		return "", err
	}
	_, missing := os.Stat(filepath.Join(dir, "minio"))
	if missing != nil {
		out.Step("building the MinIO server the offsite tests use from the Go module proxy (about 3 minutes, once; cached in %s)", dir)
	}
	start := time.Now()
	bin, err := minioserver.Binary(ctx, out.DetailWriter())
	if err != nil {
		return "", err
	}
	ready(out, "MinIO "+minioserver.Version, missing != nil, start)
	return bin, nil
}

// ready says how long getting what ready took since start: a line of its
// own when it was built (the figure the first run of a machine pays), a
// detail when it came from the cache.
func ready(out *term.Printer, what string, built bool, start time.Time) {
	if built {
		out.OK("%s built in %s", what, term.Duration(time.Since(start)))
		return
	}
	out.Detail("%s ready in %s", what, term.Duration(time.Since(start)))
}

// ComposeV1Pass is the go test command line that runs the tests driving a
// stack through Compose (the adoption tests already run each version there is).
func ComposeV1Pass(verbose bool) []string {
	args := []string{"go", "test", "-race", "-count=1", "-timeout", "30m", "-json", "-run", "^(TestEnv|TestDiag)"}
	if verbose {
		args = append(args, "-v")
	}
	return append(args, "./tasks/")
}

// crossCompile builds and vets the module for every platform in Platforms.
func crossCompile(ctx context.Context, out *term.Printer) error {
	start := time.Now()
	names := make([]string, len(Platforms))
	for i, p := range Platforms {
		names[i] = p.String()
		env, cmds := CrossCommands(p)
		for _, args := range cmds {
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			cmd.Env = append(os.Environ(), env...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s for %s: %w\n%s", strings.Join(args, " "), p, err, msg)
			}
		}
	}
	out.OK("builds and vets for %s in %s", strings.Join(names, ", "), term.Duration(time.Since(start)))
	return nil
}

func goTest(ctx context.Context, out *term.Printer, rep *Report, args, env []string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	stderr := &proc.Tail{}
	cmd.Stderr = io.MultiWriter(stderr, out.DetailWriter())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start go test: %w", err)
	}
	readErr := rep.Read(stdout, func(r *Report, e Event) {
		switch {
		case e.Action == "output":
			fmt.Fprint(out.DetailWriter(), e.Output)
		case e.Test == "" && e.Package != "" && (e.Action == "pass" || e.Action == "fail"):
			printPackage(out, r.Packages[len(r.Packages)-1])
		}
	})
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if readErr != nil {
		return readErr
	}
	if waitErr != nil && rep.OK() {
		// go test failed before reporting any test: show why.
		return fmt.Errorf("go test: %w: %s", waitErr, stderr.LastLine())
	}
	return nil
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

// newSession names a test run and makes the folder its tests' temporary
// files go in.
func newSession(prefix string) (id, dir string, err error) {
	id = fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	// Short: tests make Unix sockets beneath it (108 bytes at most).
	dir, err = os.MkdirTemp("", "stvtest-")
	if err != nil {
		return "", "", fmt.Errorf("make the session folder: %w", err)
	}
	return id, dir, nil
}

// sweep removes what this run's tests left on the engine (a test binary
// killed by a timeout runs no cleanup): see tcenv.Sweep.
func sweep(ctx context.Context, out *term.Printer, eng *engine.Engine, id, dir string) {
	swept, err := tcenv.Sweep(ctx, eng, id, dir)
	switch {
	case err != nil:
		out.Warn("could not sweep what the tests left: %v", err)
	case swept != tcenv.Swept{}:
		out.Detail("removed what the tests left: %s", swept)
	}
}

// Bench is the bench target: the benchmarks (tests gated by
// STEVEDORE_BENCH=1) and the real cluster's 1 GB backup (timed in rounds
// when benchmarking), run on their own with their reports printed.
func Bench(ctx context.Context) error {
	out := term.Stdout()
	if _, err := images.EnsureAll(ctx, out, compose.Images, images.IfChanged); err != nil {
		return out.Failed("bench", err, "")
	}
	args := []string{"go", "test", "-count=1", "-run", "^(TestBenchmark|TestRealClusterGigabyteThroughTheExecStream$)", "-v", "-timeout", "40m", "./tasks/"}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	id, dir, err := newSession("stevedore-bench")
	if err != nil {
		return out.Failed("bench", err, "")
	}
	defer os.RemoveAll(dir)
	cmd.Env = append(Environ(os.Environ(), id, dir), "STEVEDORE_BENCH=1")
	cmd.Stdout, cmd.Stderr = out.Writer(), out.Writer()
	if err := cmd.Run(); err != nil {
		return out.Failed("bench", err, "")
	}
	return nil
}
