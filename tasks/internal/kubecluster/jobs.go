//go:build linux

package kubecluster

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// APIPort is the API server's port on 127.0.0.1: how a pod on the host's
// network reaches it, there being no Service network (no kube-proxy) to
// reach it through the ClusterIP of Service kubernetes.
func (c *Cluster) APIPort() int { return c.ports.api }

// LoadImage copies an image of the Docker engine into the cluster's
// containerd, as WithImage does at the start: for an image made after the
// cluster started.
func (c *Cluster) LoadImage(t testing.TB, ref string) {
	t.Helper()
	if err := c.importFromDocker(t.Context(), ref); err != nil {
		t.Fatalf("load image %s into the cluster: %v", ref, err)
	}
}

// WaitJob watches the Job (kubectl get --watch: no polling) until it ends
// and returns how, "Complete" or "Failed". t fails with the Job's
// description and its pods' logs when it has not ended within limit.
func (c *Cluster) WaitJob(t testing.TB, ns, name string, limit time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin.Kubectl, "--context", ContextName, "-n", ns, "get", "job", name, "--watch",
		"-o", `jsonpath={.status.conditions[?(@.status=="True")].type}{"\n"}`)
	cmd.Env = append(os.Environ(), c.Env()...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("watch job %s/%s: %v", ns, name, err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	for lines := bufio.NewScanner(stdout); lines.Scan(); {
		conditions := strings.Fields(lines.Text())
		for _, end := range []string{"Complete", "Failed"} {
			if slices.Contains(conditions, end) {
				return end
			}
		}
	}
	describe, _ := c.kubectl(context.Background(), nil, "-n", ns, "describe", "job", name)
	t.Fatalf("job %s/%s did not end within %s (%v; kubectl: %s)\n%s\n--- its pods' logs\n%s",
		ns, name, limit, ctx.Err(), strings.TrimSpace(stderr.String()), describe, c.JobLogs(ns, name))
	return ""
}

// JobLogs are the logs of every pod of the Job, each line prefixed with
// its pod and container, or why kubectl could not get them.
func (c *Cluster) JobLogs(ns, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.kubectl(ctx, nil, "-n", ns, "logs", "--selector=batch.kubernetes.io/job-name="+name, "--all-containers", "--prefix", "--tail=-1")
	if err != nil {
		return out + err.Error()
	}
	return out
}
