package pgtest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// KubeStandIn puts the kubectl STAND-IN (tasks/pgtarget/testdata/standin)
// first on PATH for t, playing a pod postgres-0 in namespace db whose
// container is p's, its exec channel played by `docker exec`. It is kept
// for what a real cluster cannot be made to do on demand, cutting an exec
// stream after N bytes; the rest runs against a real cluster
// (tasks/internal/kubecluster). It returns the flags that reach that pod.
func KubeStandIn(t *testing.T, p *Postgres) pgtarget.Flags {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "pgtarget", "testdata", "standin")
	name, err := p.Container.Name(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("STANDIN_CONTAINER", strings.TrimPrefix(name, "/"))
	t.Setenv("STANDIN_STATE", t.TempDir())
	return pgtarget.Flags{Kube: true, Namespace: "db", Selector: pgtarget.DefaultSelector, Context: "stand-in"}
}
