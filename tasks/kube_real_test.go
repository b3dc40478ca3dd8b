//go:build linux

package tasks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/kubecluster"
)

// TestRealClusterDbTargets runs the db targets against PostgreSQL in a
// StatefulSet of a REAL single-node cluster (tasks/internal/kubecluster),
// found by selector in a namespace through a named context, every byte
// through the real kubectl exec. While the harness is new it runs only
// with STEVEDORE_KUBE=1.
func TestRealClusterDbTargets(t *testing.T) {
	c := kubecluster.Start(t, kubecluster.WithImage(images.Postgres.Ref))
	c.Apply(t, kubecluster.PostgresStatefulSet("shop", "real-cluster-password"))
	c.WaitPodReady(t, "shop", "postgres-0")
	psql := func(sql string) string {
		return strings.TrimSpace(c.Kubectl(t, "-n", "shop", "exec", "postgres-0", "--", "psql", "-U", "postgres", "-Atc", sql))
	}
	psql(`CREATE TABLE item (id int PRIMARY KEY, payload text); INSERT INTO item SELECT g, md5(g::text) FROM generate_series(1, 20000) g`)
	state := func() string {
		return psql(`SELECT count(*) || ' ' || md5(string_agg(id || payload, ',' ORDER BY id)) FROM item`)
	}
	want := state()

	env := append(c.Env(), "PATH="+filepath.Dir(c.KubectlPath())+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STEVEDORE_BACKUP_DIR="+filepath.Join(t.TempDir(), "backups"), "STEVEDORE_REPORT_DIR="+t.TempDir())
	where := []string{"-kube", "-namespace=shop", "-selector=app=postgres", "-context=" + c.Context()}
	target := func(name string, args ...string) run {
		r := runTarget(t, env, append(append([]string{name}, args...), where...)...)
		require.Equal(t, 0, r.Code, "%s:\n%s", name, r.Out)
		return r
	}

	r := target("db:backup", "-name=real")
	assert.Contains(t, r.Out, "pod shop/postgres-0")
	assert.NotContains(t, r.Out, "real-cluster-password")
	l := listing(t, target("db:list", "-json"))
	require.Equal(t, []string{"real"}, backupNames(l))
	assert.EqualValues(t, 20000, l.Backups[0].Rows)
	target("db:verify", "-name=real")

	psql(`DELETE FROM item WHERE id > 100`)
	target("db:restore", "-name=real", "-yes")
	assert.Equal(t, want, state(), "restored through kubectl exec")
	target("db:restore", "-undo", "-yes")
	assert.Equal(t, "100", strings.Fields(state())[0], "undone")

	r = runTarget(t, env, append([]string{"diag:run"}, where...)...)
	assert.Contains(t, r.Out, "database postgres", r.Out)

	// A wrong namespace and a wrong context: one line each.
	for _, bad := range [][]string{{"-namespace=nope"}, {"-context=nope"}} {
		r := runTarget(t, env, append(append([]string{"db:backup"}, where...), bad...)...)
		assert.Equal(t, 1, r.Code, r.Out)
		failureLine(t, r)
	}
}

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
	c := kubecluster.Start(t, kubecluster.WithImage(images.Postgres.Ref))
	c.Apply(t, kubecluster.PostgresStatefulSet("shop", "rbac-password"))
	c.Apply(t, podReaders)
	reader := c.AddUser(t, "reader", "pod-readers")
	stranger := c.AddUser(t, "stranger")
	c.WaitPodReady(t, "shop", "postgres-0")
	env := append(c.Env(), "PATH="+filepath.Dir(c.KubectlPath())+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STEVEDORE_BACKUP_DIR="+filepath.Join(t.TempDir(), "backups"))
	for _, c := range []struct{ context, line, next string }{
		{reader, "Kubernetes user reader may not create pods/exec in namespace shop (RBAC)", "auth can-i create pods/exec"},
		{stranger, "Kubernetes user stranger may not list pods in namespace shop (RBAC)", "auth can-i list pods"},
	} {
		r := runTarget(t, env, "db:backup", "-kube", "-namespace=shop", "-selector=app=postgres", "-context="+c.context)
		assert.Equal(t, 1, r.Code, r.Out)
		assert.Contains(t, failureLine(t, r), c.line)
		assert.Contains(t, r.Out, c.next)
	}
}
