//go:build linux

package kubecluster_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/kubecluster"
)

func TestRealClusterRunsPostgres(t *testing.T) {
	c := kubecluster.Start(t, kubecluster.WithImage(images.Postgres.Ref))
	c.Apply(t, kubecluster.PostgresStatefulSet("db", "smoke-test-password"))
	c.WaitPodReady(t, "db", "postgres-0")
	out := c.Kubectl(t, "-n", "db", "exec", "postgres-0", "--", "psql", "-U", "postgres", "-c", "select 1")
	if !strings.Contains(out, "(1 row)") {
		t.Fatalf("psql select 1 in the pod printed:\n%s", out)
	}
	t.Logf("kubectl exec postgres-0 -- psql -U postgres -c 'select 1':\n%s", out)
}

// readOnly may look at pods but not exec into them: what a user without
// pods/exec has.
const readOnly = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pod-reader
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pod-readers
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: pod-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: pod-readers
`

func TestRealClusterAddUserHasItsGroupsRights(t *testing.T) {
	c := kubecluster.Start(t)
	c.Apply(t, readOnly)
	ctx := c.AddUser(t, "reader", "pod-readers")
	for _, check := range []struct{ verb, resource, want string }{
		{"list", "pods", "yes"},
		{"create", "pods/exec", "no"},
	} {
		// can-i exits 1 when the answer is no: read its output, not its status.
		cmd := exec.Command(c.KubectlPath(), "--context", ctx, "auth", "can-i", check.verb, check.resource)
		cmd.Env = append(os.Environ(), c.Env()...)
		out, _ := cmd.Output()
		if got := strings.TrimSpace(string(out)); got != check.want {
			t.Errorf("reader can-i %s %s = %q, want %q", check.verb, check.resource, got, check.want)
		}
	}
	c.Kubectl(t, "--context", ctx, "get", "pods", "-A")
}
