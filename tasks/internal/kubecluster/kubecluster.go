//go:build linux

// Package kubecluster runs a real single-node Kubernetes cluster for tests:
// etcd, kube-apiserver, controller-manager, scheduler and a kubelet on a
// private containerd, all built or unpacked once into the user's cache (see
// Build) and run under one folder of the cluster's own. Nothing reaches the
// host beyond a bridge, cgroups and CNI cache entries of the cluster's own,
// which teardown removes; traffic stays on that bridge and on 127.0.0.1.
//
// The test target builds the programs before the tests (Ready). Without a
// way to build or start the cluster the tests that use it are skipped with
// the reason, or fail under CI=true. As root, on a machine with containerd,
// runc, Docker (for the images) and the Go module proxy:
//
//	go test -v -run TestRealCluster ./tasks/internal/kubecluster/
package kubecluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
)

// ContextName is the admin's context in the cluster's kubeconfig.
const ContextName = "stevedore-kube"

// NodeName is the cluster's one node.
const NodeName = "stevedore-node"

// Option changes what Start prepares.
type Option func(*options)

type options struct{ images []string }

// WithImage copies an image of the Docker engine into the cluster's
// containerd, for pods with imagePullPolicy: Never (there is no registry).
func WithImage(ref string) Option {
	return func(o *options) { o.images = append(o.images, ref) }
}

// Cluster is a running cluster.
type Cluster struct {
	root    string // every file, socket, log and mount of the cluster
	id      string // in the names of its bridge, network and cgroups
	bin     Binaries
	net     network
	ports   ports
	admin   string       // the admin's token
	cgroup  string       // the kubelet's cgroupRoot
	lock    *flock.Flock // held while the cluster lives
	mountNS string       // containerd's and the kubelet's mount namespace
	cniDirs []string     // the folders of cniResultsDir it made

	etcd, apiserver, controllers, scheduler, containerd, kubelet *daemon
}

type ports struct{ etcd, etcdPeer, api, controllers, scheduler, kubelet, kubeletHealthz int }

// Start runs a cluster for t and tears it down when t ends. It skips t
// when the cluster cannot be built or started (fails instead under CI=true).
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := t.Context()
	if err := requireHost(ctx, o.images); err != nil {
		tcenv.Unavailable(t, "no Kubernetes cluster: %v", err)
	}
	bin, err := Build(ctx, os.Stderr)
	if err != nil {
		tcenv.Unavailable(t, "no Kubernetes cluster: %v", err)
	}
	c, err := newCluster(bin)
	if err != nil {
		tcenv.Unavailable(t, "no Kubernetes cluster: %v", err)
	}
	t.Cleanup(func() {
		for _, err := range c.teardown() {
			t.Errorf("kube teardown: %v", err)
		}
	})
	began := time.Now()
	if err := c.start(ctx, o.images); err != nil {
		tcenv.Unavailable(t, "no Kubernetes cluster: %v", fmt.Errorf("start a cluster in %s: %w\n%s", c.root, err, c.logTails()))
	}
	t.Logf("Kubernetes %s up in %s (root %s)", Version, time.Since(began).Round(100*time.Millisecond), c.root)
	return c
}

// Ready says why this host cannot run a cluster, if it cannot, and builds
// the cluster's programs when the cache lacks them: the test target calls it
// before the tests, so a first build is said once rather than inside a test.
func Ready(ctx context.Context, log io.Writer) error {
	if err := requireHost(ctx, nil); err != nil {
		return err
	}
	_, err := Build(ctx, log)
	return err
}

// Cached reports whether the cluster's programs are built already.
func Cached() bool {
	dir, err := CacheDir()
	return err == nil && binariesIn(dir).present()
}

// requireHost checks for the programs the cluster runs from the host and
// for the images to copy from Docker (Build names what it lacks itself).
func requireHost(ctx context.Context, images []string) error {
	need := []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "unshare", "nsenter", "ip"}
	if len(images) > 0 {
		need = append(need, "docker")
	}
	for _, p := range need {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s is not installed: %w", p, err)
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("a kubelet and containerd need root")
	}
	for _, ref := range images {
		if err := exec.CommandContext(ctx, "docker", "image", "inspect", ref).Run(); err != nil {
			return fmt.Errorf("image %s is not on the Docker engine (%w): run `go tool mage images:build`", ref, err)
		}
	}
	return nil
}

// newCluster makes the cluster's root in the cache dir: its socket paths
// must stay short (108 bytes), which a test's TempDir named after a long
// test name may not. The cluster holds a lock beside its root while it
// lives; clusters whose lock nobody holds any more (their test binary was
// killed) are torn down first.
func newCluster(bin Binaries) (*Cluster, error) {
	runs, err := runsDir()
	if err != nil {
		return nil, err
	}
	sweepStale(runs)
	id := randomHex(3)
	lock := flock.New(filepath.Join(runs, id+".lock"))
	if ok, err := lock.TryLock(); err != nil || !ok {
		return nil, fmt.Errorf("lock cluster %s (held: %t): %v", id, !ok, err)
	}
	c := &Cluster{root: filepath.Join(runs, id), id: id, lock: lock, bin: bin, admin: randomHex(16)}
	c.net, c.cgroup = networkOf(id), cgroupOf(id)
	if err := os.Mkdir(c.root, 0o755); err != nil {
		c.release()
		return nil, fmt.Errorf("cluster root: %w", err)
	}
	return c, nil
}

func runsDir() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	runs := filepath.Join(filepath.Dir(dir), "run")
	return runs, os.MkdirAll(runs, 0o755)
}

func cgroupOf(id string) string { return "/stevedore-kube-" + id }

// sweepStale tears down the clusters under runs that no live test holds:
// their shims, pods, cgroups, bridge and root outlive a killed test binary
// (its daemons die with it).
func sweepStale(runs string) {
	entries, _ := os.ReadDir(runs)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		id := e.Name()
		lock := flock.New(filepath.Join(runs, id+".lock"))
		if ok, _ := lock.TryLock(); !ok {
			continue // a live cluster
		}
		c := &Cluster{root: filepath.Join(runs, id), id: id, lock: lock, net: networkOf(id), cgroup: cgroupOf(id)}
		if made, err := os.ReadFile(c.path(cniDirsFile)); err == nil {
			c.cniDirs = strings.Fields(string(made))
		}
		for _, err := range c.teardown() {
			fmt.Fprintf(os.Stderr, "kubecluster: tear down stale cluster %s: %v\n", id, err)
		}
	}
}

// release drops the cluster's lock and its file.
func (c *Cluster) release() {
	_ = os.Remove(c.lock.Path())
	_ = c.lock.Unlock()
}

// start brings the control plane up while containerd starts and takes
// the images (the slowest part), then the kubelet.
func (c *Cluster) start(ctx context.Context, images []string) error {
	if err := c.prepare(); err != nil {
		return err
	}
	runtime := make(chan error, 1)
	go func() { runtime <- c.startRuntime(ctx, images) }()
	plane := c.startControlPlane(ctx)
	if err := errors.Join(plane, <-runtime); err != nil {
		return err
	}
	return c.startKubelet(ctx)
}

// prepare writes the cluster's files and makes its bridge and cgroups.
func (c *Cluster) prepare() error {
	for _, d := range []string{"log", "pki", "etc", "kubectl-cache"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := c.writePKI(); err != nil {
		return err
	}
	var err error
	if c.net, err = createNetwork(c.id); err != nil {
		return err
	}
	if c.ports, err = freePorts(c.net.nodeIP); err != nil {
		return err
	}
	if err := c.writeKubeconfigs(); err != nil {
		return err
	}
	return createCgroup(c.cgroup)
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.root}, elem...)...)
}

// Kubeconfig is the admin's kubeconfig, its current context ContextName.
func (c *Cluster) Kubeconfig() string { return c.path("kubeconfig") }

// Context is the admin's context (in group system:masters).
func (c *Cluster) Context() string { return ContextName }

// Env is what kubectl needs to reach the cluster and keep its cache out
// of ~/.kube; a test running the project's kubectl code sets it.
func (c *Cluster) Env() []string {
	return []string{"KUBECONFIG=" + c.Kubeconfig(), "KUBECACHEDIR=" + c.path("kubectl-cache")}
}

// KubectlPath is the kubectl built with the cluster.
func (c *Cluster) KubectlPath() string { return c.bin.Kubectl }

// logTails is the end of every component's log, for a failure message.
func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, d := range []*daemon{c.etcd, c.apiserver, c.controllers, c.scheduler, c.containerd, c.kubelet} {
		if d != nil {
			fmt.Fprintf(&b, "--- %s (%s)\n%s\n", d.name, d.log, tail(d.log, 15))
		}
	}
	return b.String()
}

func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
