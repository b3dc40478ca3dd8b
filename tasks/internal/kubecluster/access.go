//go:build linux

package kubecluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jsonDoc renders a configuration file (JSON is YAML too).
func jsonDoc(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// kubeconfig names the cluster and the admin's context ContextName.
func (c *Cluster) kubeconfig() ([]byte, error) {
	return jsonDoc(map[string]any{
		"apiVersion": "v1", "kind": "Config",
		"clusters": []any{map[string]any{"name": ContextName, "cluster": map[string]any{
			"server":                "https://127.0.0.1:" + strconv.Itoa(c.ports.api),
			"certificate-authority": c.path("pki", "apiserver.crt"),
		}}},
		"users":           []any{map[string]any{"name": "admin", "user": map[string]any{"token": c.admin}}},
		"contexts":        []any{map[string]any{"name": ContextName, "context": map[string]any{"cluster": ContextName, "user": "admin"}}},
		"current-context": ContextName,
	})
}

// writeKubeconfigs writes the tests' kubeconfig and the components' own
// copy (the tests' gains contexts; the components' stays as it was).
func (c *Cluster) writeKubeconfigs() error {
	b, err := c.kubeconfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.Kubeconfig(), b, 0o600); err != nil {
		return err
	}
	return os.WriteFile(c.path("etc", "components.kubeconfig"), b, 0o600)
}

// kubectl runs the cluster's kubectl with the cluster's kubeconfig, as
// the admin unless args name a --context.
func (c *Cluster) kubectl(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	if !slices.ContainsFunc(args, func(a string) bool { return a == "--context" || strings.HasPrefix(a, "--context=") }) {
		args = append([]string{"--context", ContextName}, args...)
	}
	cmd := exec.CommandContext(ctx, c.bin.Kubectl, args...)
	cmd.Env = append(os.Environ(), c.Env()...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Kubectl runs kubectl args on the cluster (as the admin unless args name
// a --context) and returns its output; t fails when kubectl does.
func (c *Cluster) Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.kubectl(t.Context(), nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Apply applies the manifests in yaml as the admin.
func (c *Cluster) Apply(t testing.TB, yaml string) {
	t.Helper()
	if _, err := c.kubectl(t.Context(), strings.NewReader(yaml), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
}

// WaitPodReady waits for the pod's Ready condition (the pod may not exist
// yet: a controller makes it); t fails with the pod's description and the
// kubelet's last lines after two minutes.
func (c *Cluster) WaitPodReady(t testing.TB, ns, name string) {
	t.Helper()
	err := poll(t.Context(), 2*time.Minute, c.kubelet, "pod "+ns+"/"+name+" Ready", func(ctx context.Context) error {
		out, err := c.kubectl(ctx, nil, "-n", ns, "get", "pod", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out != "True" {
			err = fmt.Errorf("Ready is %q", out)
		}
		return err
	})
	if err != nil {
		describe, _ := c.kubectl(context.Background(), nil, "-n", ns, "describe", "pod", name)
		t.Fatalf("%v\n%s\n--- kubelet\n%s", err, describe, tail(c.kubelet.log, 20))
	}
}

// AddUser adds a user of the static token file, in groups (for RBAC
// tests), and returns a context of the kubeconfig that acts as that user.
// The API server reads the file only when it starts: it is restarted,
// which takes about 3 seconds.
func (c *Cluster) AddUser(t testing.TB, name string, groups ...string) string {
	t.Helper()
	token := randomHex(16)
	f, err := os.OpenFile(c.path("pki", "tokens.csv"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(tokenLine(token, name, groups...))
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	// A short grace: it waits for its clients' watches to end (10 s and
	// more), and all it holds is in etcd already.
	c.apiserver.stop(time.Second)
	if err := c.startAPIServer(t.Context()); err != nil {
		t.Fatalf("restart kube-apiserver with user %s: %v", name, err)
	}
	t.Logf("kube-apiserver restarted for user %s in %s", name, time.Since(began).Round(100*time.Millisecond))
	context := ContextName + "-" + name
	c.Kubectl(t, "config", "set-credentials", name, "--token="+token)
	c.Kubectl(t, "config", "set-context", context, "--cluster="+ContextName, "--user="+name)
	return context
}

// StopAPIServer stops the API server for good, as an outage does: the
// kubelet and its pods go on without it.
func (c *Cluster) StopAPIServer() { c.apiserver.stop(time.Second) }

// Try runs kubectl args as Kubectl does and returns its error instead of
// failing the test: for what is expected to fail for a while, such as an
// exec into a container that is restarting.
func (c *Cluster) Try(ctx context.Context, args ...string) (string, error) {
	return c.kubectl(ctx, nil, args...)
}
