//go:build linux

package tasks_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/minioserver"
)

// TestRealClusterCronJobTakesABackup applies what `schedule:kube -push`
// prints to a REAL cluster (tasks/internal/kubecluster), runs its CronJob
// now, and finds the backup the job's pod took in a real MinIO bucket. The
// pod runs the image `images:cli` builds (this checkout's targets compiled
// by mage, and the cluster's own kubectl, built static), which reaches the
// API server in-cluster with its service account's token, allowed no more
// than the manifest's Role.
//
// Patched for this cluster only, in the CronJob's pod template: hostNetwork:
// true, and KUBERNETES_SERVICE_HOST=127.0.0.1 and KUBERNETES_SERVICE_PORT=
// the API server's port in the container's env. This cluster has no
// kube-proxy, no Service network and no DNS, so a pod cannot reach the
// ClusterIP (10.96.0.1) the kubelet names for the API server; the API
// server and MinIO listen on 127.0.0.1 only, which a pod on the host's
// network reaches. The API server's certificate names 127.0.0.1, so
// kubectl's in-cluster configuration verifies it against the service
// account's CA. Everything else is applied as printed.
func TestRealClusterCronJobTakesABackup(t *testing.T) {
	f := newKubeFixture(t, "cronjob-password")
	c := f.c
	r := runIn(t, checkoutRoot(), nil, "images:cli", "-kubectl="+c.KubectlPath())
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, images.CLI.Ref+": built in")
	c.LoadImage(t, images.CLI.Ref)
	const rows = 3000
	f.psql(t, fmt.Sprintf(`CREATE TABLE item (id int PRIMARY KEY, payload text); INSERT INTO item SELECT g, md5(g::text) FROM generate_series(1, %d) g`, rows))

	// The job's settings, as a team gives them: a Secret made from an env
	// file (no password of the database: it never leaves its pod).
	srv := minioserver.Start(t)
	offsite := []string{"STEVEDORE_OFFSITE_URL=s3://" + srv.Bucket(t) + "/shop", "AWS_ENDPOINT_URL=" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey}
	envFile := filepath.Join(t.TempDir(), "stevedore.env")
	require.NoError(t, os.WriteFile(envFile, []byte(strings.Join(offsite, "\n")+"\n"), 0o600))
	c.Kubectl(t, "-n", "shop", "create", "secret", "generic", "stevedore", "--from-env-file="+envFile)

	r = runTarget(t, []string{"STEVEDORE_PROJECT=shop"}, "schedule:kube", "-namespace=shop", "-selector=app=postgres", "-secret=stevedore", "-push")
	require.Equal(t, 0, r.Code, r.Out)
	c.Apply(t, onThisCluster(t, r.Out, c.APIPort()))

	const cronJob, run = "stevedore-shop-backup", "stevedore-shop-backup-now"
	began := time.Now()
	c.Kubectl(t, "-n", "shop", "create", "job", "--from=cronjob/"+cronJob, run)
	end := c.WaitJob(t, "shop", run, 5*time.Minute)
	logs := c.JobLogs("shop", run)
	require.Equal(t, "Complete", end, "the job's pods said:\n%s", logs)
	t.Logf("job %s complete in %s:\n%s", run, time.Since(began).Round(100*time.Millisecond), logs)
	assert.Contains(t, logs, "pod shop/postgres-0", "db:backup found the pod in-cluster")
	assert.NotContains(t, logs, srv.SecretKey)

	// From this machine: the bucket holds the backup, whole.
	host := append([]string{"STEVEDORE_BACKUP_DIR=" + f.dir}, offsite...)
	remote := listing(t, runTarget(t, host, "db:list", "-remote", "-json"))
	require.Len(t, remote.Backups, 1, "one backup in the bucket")
	b := remote.Backups[0]
	assert.EqualValues(t, rows, b.Rows)
	assert.Equal(t, "postgres", b.Database)

	r = runTarget(t, host, "db:pull", "-name="+b.Name)
	require.Equal(t, 0, r.Code, r.Out)
	f.env = append(f.env, host...)
	f.run(t, "db:verify", "-name="+b.Name)
}

// onThisCluster patches the CronJob of manifest for this cluster (see
// TestRealClusterCronJobTakesABackup): its pod on the host's network,
// reaching the API server at 127.0.0.1:apiPort. The other documents pass
// unchanged.
func onThisCluster(t *testing.T, manifest string, apiPort int) string {
	t.Helper()
	var docs []map[string]any
	dec := yaml.NewDecoder(strings.NewReader(manifest))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, manifest)
		docs = append(docs, doc)
	}
	patched := 0
	for _, doc := range docs {
		if doc["kind"] != "CronJob" {
			continue
		}
		pod := dig(t, doc, "spec", "jobTemplate", "spec", "template", "spec")
		pod["hostNetwork"] = true
		containers, ok := pod["containers"].([]any)
		require.True(t, ok && len(containers) == 1, "one container in %v", pod)
		container := containers[0].(map[string]any)
		env, _ := container["env"].([]any)
		container["env"] = append(env,
			map[string]any{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
			map[string]any{"name": "KUBERNETES_SERVICE_PORT", "value": strconv.Itoa(apiPort)})
		patched++
	}
	require.Equal(t, 1, patched, "one CronJob in:\n%s", manifest)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	for _, doc := range docs {
		require.NoError(t, enc.Encode(doc))
	}
	require.NoError(t, enc.Close())
	return b.String()
}

// dig is the mapping at path in doc.
func dig(t *testing.T, doc map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, key := range path {
		next, ok := doc[key].(map[string]any)
		require.True(t, ok, "%s is not a mapping in %v", key, doc)
		doc = next
	}
	return doc
}

// TestImagesCliRefusesADynamicKubectl: a kubectl that needs the dynamic
// loader (ls, here) is one line and the command that gets a static one,
// before anything is compiled.
func TestImagesCliRefusesADynamicKubectl(t *testing.T) {
	ls, err := exec.LookPath("ls")
	require.NoError(t, err)
	r := runIn(t, checkoutRoot(), nil, "images:cli", "-kubectl="+ls, "-image=stevedore/cli:never-built")
	assert.Equal(t, 1, r.Code, r.Out)
	assert.Contains(t, failureLine(t, r), "kubectl "+ls+" is dynamically linked (it needs /")
	assert.Contains(t, r.Out, "next: curl -fLO https://dl.k8s.io/release/")
	assert.NotContains(t, r.Out, "compiling", "refused first")
}
