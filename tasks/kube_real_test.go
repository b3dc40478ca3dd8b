//go:build linux

package tasks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/kubecluster"
)

// kubeFixture is PostgreSQL in a StatefulSet of a REAL single-node cluster
// (tasks/internal/kubecluster), and the targets' environment and flags to
// reach it: found by selector in namespace shop through a named context.
type kubeFixture struct {
	c     *kubecluster.Cluster
	env   []string
	where []string // the flags that find the pod
	dir   string   // the backup folder
}

func newKubeFixture(t *testing.T, password string) *kubeFixture {
	t.Helper()
	c := kubecluster.Start(t, kubecluster.WithImage(images.Postgres.Ref))
	c.Apply(t, kubecluster.PostgresStatefulSet("shop", password))
	c.WaitPodReady(t, "shop", "postgres-0")
	f := &kubeFixture{c: c, dir: filepath.Join(t.TempDir(), "backups"),
		where: []string{"-kube", "-namespace=shop", "-selector=app=postgres", "-context=" + c.Context()}}
	f.env = append(c.Env(), "PATH="+filepath.Dir(c.KubectlPath())+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STEVEDORE_BACKUP_DIR="+f.dir, "STEVEDORE_REPORT_DIR="+t.TempDir())
	return f
}

// psql runs sql in the pod, through the admin's kubectl exec.
func (f *kubeFixture) psql(t *testing.T, sql string) string {
	t.Helper()
	return strings.TrimSpace(f.c.Kubectl(t, "-n", "shop", "exec", "postgres-0", "--", "psql", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-Atc", sql))
}

// itemState is a fingerprint of table item: equal states mean the same data.
const itemState = `SELECT count(*) || ' ' || md5(string_agg(id || payload, ',' ORDER BY id)) FROM item`

func (f *kubeFixture) state(t *testing.T) string {
	t.Helper()
	return f.psql(t, itemState)
}

// args are a target's arguments, then the flags that find the pod.
func (f *kubeFixture) args(name string, args ...string) []string {
	return append(append([]string{name}, args...), f.where...)
}

// run runs a target on the pod; t fails unless it succeeds.
func (f *kubeFixture) run(t *testing.T, name string, args ...string) run {
	t.Helper()
	r := runTarget(t, f.env, f.args(name, args...)...)
	require.Equal(t, 0, r.Code, "%s:\n%s", name, r.Out)
	return r
}

// TestRealClusterDbTargets runs the db targets against the real cluster,
// every byte through the real kubectl exec.
func TestRealClusterDbTargets(t *testing.T) {
	f := newKubeFixture(t, "real-cluster-password")
	f.psql(t, `CREATE TABLE item (id int PRIMARY KEY, payload text); INSERT INTO item SELECT g, md5(g::text) FROM generate_series(1, 20000) g`)
	want := f.state(t)

	r := f.run(t, "db:backup", "-name=real")
	assert.Contains(t, r.Out, "pod shop/postgres-0")
	assert.NotContains(t, r.Out, "real-cluster-password")
	l := listing(t, f.run(t, "db:list", "-json"))
	require.Equal(t, []string{"real"}, backupNames(l))
	assert.EqualValues(t, 20000, l.Backups[0].Rows)
	f.run(t, "db:verify", "-name=real")
	// The pod by name, the way a team that knows it writes it.
	r = runTarget(t, f.env, "db:verify", "-name=real", "-kube", "-namespace=shop", "-pod=postgres-0", "-context="+f.c.Context())
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "pod shop/postgres-0")

	f.psql(t, `DELETE FROM item WHERE id > 100`)
	f.run(t, "db:restore", "-name=real", "-yes")
	assert.Equal(t, want, f.state(t), "restored through kubectl exec")
	f.run(t, "db:restore", "-undo", "-yes")
	assert.Equal(t, "100", strings.Fields(f.state(t))[0], "undone")

	// Snapshots: the copy's statements reach psql in the pod as separate
	// arguments of the exec.
	undone := f.state(t)
	f.run(t, "db:snapshot", "-name=before")
	f.psql(t, `DELETE FROM item`)
	f.run(t, "db:rollback", "-to=before")
	assert.Equal(t, undone, f.state(t), "rolled back through kubectl exec")

	r = runTarget(t, f.env, f.args("diag:run")...)
	assert.Contains(t, r.Out, "database postgres", r.Out)

	// Wrong flags and pods in no state to serve: one line each, naming why.
	f.c.Apply(t, oddPods)
	f.c.Kubectl(t, "-n", "shop", "wait", "--for=jsonpath={.status.phase}=Running", "pod/unready", "--timeout=2m")
	for bad, want := range map[string]string{
		"-namespace=nope":    "namespace nope does not exist",
		"-context=nope":      `context "nope"`,
		"-selector=app=nope": "no pod matches app=nope in namespace shop",
		"-pod=nope-0":        `pods "nope-0" not found`,
		"-pod=waiting":       "pod waiting is Pending, not Running",
		"-pod=unready":       "container postgres of pod unready is not ready",
	} {
		args := f.args("db:backup")
		if strings.HasPrefix(bad, "-pod=") {
			args = slices.DeleteFunc(args, func(a string) bool { return strings.HasPrefix(a, "-selector=") })
		}
		r := runTarget(t, f.env, append(args, bad)...)
		assert.Equal(t, 1, r.Code, r.Out)
		assert.Contains(t, failureLine(t, r), want, bad)
	}

	// The API server down: one line, at once, and nothing listed.
	f.c.StopAPIServer()
	r = runTarget(t, f.env, f.args("db:backup", "-name=outage")...)
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), "Kubernetes cluster not reachable")
	assert.Contains(t, r.Out, "next: kubectl --context "+f.c.Context()+" -n shop cluster-info")
	assert.Less(t, r.Took, 30*time.Second, "a refused connection is said at once")
	assert.Equal(t, []string{"real"}, backupNames(listing(t, runTarget(t, f.env, "db:list", "-json"))))
	r = runTarget(t, f.env, f.args("diag:run")...)
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, r.Out, "Kubernetes cluster not reachable")
}

// oddPods are pods of namespace shop in no state to serve: one waits for an
// image that is not there, one runs but never gets ready.
var oddPods = `
apiVersion: v1
kind: Pod
metadata: {name: waiting, namespace: shop}
spec:
  automountServiceAccountToken: false
  containers:
  - {name: postgres, image: "stevedore/absent:1", imagePullPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: unready, namespace: shop}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 0
  containers:
  - name: postgres
    image: ` + images.Postgres.Ref + `
    imagePullPolicy: Never
    command: ["sleep", "infinity"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
`

// podReaders may find pods in namespace shop but not exec into them.
const podReaders = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: shop}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pod-readers, namespace: shop}
subjects:
- {kind: Group, name: pod-readers, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
`

// TestRealClusterRBACNamesTheMissingPermission: a user whose RBAC lacks
// pods/exec, and one lacking pods get/list, each get one line naming the
// permission, and the kubectl command that checks it.
func TestRealClusterRBACNamesTheMissingPermission(t *testing.T) {
	f := newKubeFixture(t, "rbac-password")
	f.c.Apply(t, podReaders)
	reader := f.c.AddUser(t, "reader", "pod-readers")
	stranger := f.c.AddUser(t, "stranger")
	for _, c := range []struct{ context, line, next string }{
		{reader, "Kubernetes user reader may not create pods/exec in namespace shop (RBAC)", "auth can-i create pods/exec"},
		{stranger, "Kubernetes user stranger may not list pods in namespace shop (RBAC)", "auth can-i list pods"},
	} {
		r := runTarget(t, f.env, "db:backup", "-kube", "-namespace=shop", "-selector=app=postgres", "-context="+c.context)
		assert.Equal(t, 1, r.Code, r.Out)
		assert.Contains(t, failureLine(t, r), c.line)
		assert.Contains(t, r.Out, c.next)
	}
}
