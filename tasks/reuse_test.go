package tasks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Another repository reuses stevedore's targets with `// mage:import`: a
// throwaway module outside this checkout lists them with their descriptions,
// and does not inherit stevedore's own test target.
func TestTargetsAreReusableWithMageImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second module")
	}
	_, self, _, _ := runtime.Caller(0)
	checkout := filepath.Dir(filepath.Dir(self))
	consumer := t.TempDir()

	goMod := strings.Join([]string{
		"module example.com/consumer",
		"",
		"go 1.26",
		"",
		"tool github.com/magefile/mage",
		"",
		"require github.com/stevedore-dev/stevedore v0.0.0",
		"",
		"replace github.com/stevedore-dev/stevedore => " + checkout,
		"",
	}, "\n")
	magefile := strings.Join([]string{
		"//go:build mage",
		"",
		"// consumer is another team's repository.",
		"package main",
		"",
		"import (",
		"\t// mage:import",
		"\t_ \"github.com/stevedore-dev/stevedore/tasks\"",
		")",
		"",
	}, "\n")
	sum, err := os.ReadFile(filepath.Join(checkout, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(consumer, "go.mod"), []byte(goMod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(consumer, "go.sum"), sum, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(consumer, "magefiles"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(consumer, "magefiles", "magefile.go"), []byte(magefile), 0o644))

	goCmd := func(args ...string) string {
		cmd := exec.CommandContext(t.Context(), "go", args...)
		cmd.Dir = consumer
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	goCmd("mod", "tidy")
	list := goCmd("tool", "mage", "-l")

	assert.Regexp(t, `(?m)^\s+images:build\s+makes the images the stack's services need`, list)
	assert.NotRegexp(t, `(?m)^\s+test\s`, list, "stevedore's own test target stays in stevedore")
}
