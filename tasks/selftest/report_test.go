package selftest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A stream as `go test -json` prints it: one passing package with a skip,
// one failing package, one that does not build.
const stream = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestOK"}
{"Action":"output","Package":"a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"a","Test":"TestOK","Elapsed":0.1}
{"Action":"run","Package":"a","Test":"TestNoDocker"}
{"Action":"output","Package":"a","Test":"TestNoDocker","Output":"=== RUN   TestNoDocker\n"}
{"Action":"output","Package":"a","Test":"TestNoDocker","Output":"    x_test.go:9: container test skipped: engine down\n"}
{"Action":"output","Package":"a","Test":"TestNoDocker","Output":"--- SKIP: TestNoDocker (0.00s)\n"}
{"Action":"skip","Package":"a","Test":"TestNoDocker"}
{"Action":"pass","Package":"a","Elapsed":1.5}
{"Action":"run","Package":"b","Test":"TestBroken"}
{"Action":"run","Package":"b","Test":"TestBroken/sub"}
{"Action":"output","Package":"b","Test":"TestBroken/sub","Output":"    b_test.go:3: want 1, got 2\n"}
{"Action":"fail","Package":"b","Test":"TestBroken/sub"}
{"Action":"fail","Package":"b","Test":"TestBroken"}
{"Action":"pass","Package":"b","Test":"TestFine"}
{"Action":"fail","Package":"b","Elapsed":0.2}
{"ImportPath":"c","Action":"build-output","Output":"c/c.go:1: syntax error\n"}
{"ImportPath":"c","Action":"build-fail"}
{"Action":"output","Package":"c","Output":"FAIL\tc [build failed]\n"}
{"Action":"fail","Package":"c","Elapsed":0}
`

func TestReadReportCountsAndExplains(t *testing.T) {
	var finished []string
	rep, err := ReadReport(strings.NewReader(stream), func(r *Report, e Event) {
		if e.Test == "" && (e.Action == "pass" || e.Action == "fail") {
			finished = append(finished, r.Packages[len(r.Packages)-1].Package)
		}
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, finished, "each package reported as it ends")
	assert.Equal(t, "tests: 2 passed, 2 failed, 1 skipped", rep.Summary())
	assert.False(t, rep.OK())

	require.Len(t, rep.Skips, 1)
	assert.Equal(t, Skip{Package: "a", Test: "TestNoDocker", Reason: "x_test.go:9: container test skipped: engine down"}, rep.Skips[0])

	var failed []string
	for _, f := range rep.Failures {
		failed = append(failed, f.Package+" "+f.Test)
	}
	assert.Equal(t, []string{"b TestBroken/sub", "b TestBroken", "c (build)"}, failed)
	assert.Contains(t, rep.Failures[0].Output, "want 1, got 2")
	assert.Contains(t, rep.Failures[2].Output, "syntax error")
}

func TestReadReportAllGreen(t *testing.T) {
	rep, err := ReadReport(strings.NewReader(`{"Action":"pass","Package":"a","Test":"T"}
{"Action":"pass","Package":"a"}`), nil)
	require.NoError(t, err)
	assert.True(t, rep.OK())
	assert.Equal(t, "tests: 1 passed, 0 failed, 0 skipped", rep.Summary())
}

func TestReadReportRejectsGarbage(t *testing.T) {
	_, err := ReadReport(strings.NewReader(`{"Action":"pass"`), nil)
	assert.Error(t, err)
}

func TestCommands(t *testing.T) {
	vet, test := Commands(false)
	assert.Equal(t, []string{"go", "vet", "./..."}, vet)
	assert.Equal(t, []string{"go", "test", "-race", "-count=1", "-timeout", "45m", "-json", "./..."}, test)
	_, test = Commands(true)
	assert.Equal(t, []string{"go", "test", "-race", "-count=1", "-timeout", "45m", "-json", "-v", "./..."}, test)
}

func TestCrossCommandsCoverEveryPlatformWithoutCgo(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Platforms {
		env, cmds := CrossCommands(p)
		assert.Equal(t, []string{"GOOS=" + p.OS, "GOARCH=" + p.Arch, "CGO_ENABLED=0"}, env)
		assert.Equal(t, [][]string{{"go", "build", "./..."}, {"go", "vet", "./..."}}, cmds)
		seen[p.String()] = true
	}
	for _, want := range []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"} {
		assert.True(t, seen[want], want)
	}
}

func TestComposeV1PassRunsTheStackTests(t *testing.T) {
	args := ComposeV1Pass(false)
	assert.Equal(t, []string{"go", "test", "-race", "-count=1", "-timeout", "30m", "-json", "-run", "^(TestEnv|TestDiag)", "./tasks/"}, args)
	assert.Contains(t, ComposeV1Pass(true), "-v")
}

func TestEnvironKeepsUserSettingsAndAddsTheSession(t *testing.T) {
	env := Environ([]string{"PATH=/bin", "TESTCONTAINERS_HOST_OVERRIDE=docker.internal"}, "s-1", "/tmp/s-1")
	assert.Contains(t, env, "PATH=/bin")
	assert.Contains(t, env, "TESTCONTAINERS_HOST_OVERRIDE=docker.internal")
	assert.NotContains(t, env, "TESTCONTAINERS_HOST_OVERRIDE=localhost")
	assert.Contains(t, env, "TESTCONTAINERS_RYUK_DISABLED=true")
	assert.Contains(t, env, "TESTCONTAINERS_SESSION_ID=s-1")
	assert.Contains(t, env, "TMPDIR=/tmp/s-1", "tests' temporary folders, and so their stacks' working folders, are in the session's")
}
