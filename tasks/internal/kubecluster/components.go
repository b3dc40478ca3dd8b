//go:build linux

package kubecluster

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// startControlPlane runs etcd, the API server, the controller-manager and
// the scheduler, each waited for.
func (c *Cluster) startControlPlane(ctx context.Context) error {
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	return c.startControllers(ctx)
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	client := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcd)
	peer := "http://127.0.0.1:" + strconv.Itoa(c.ports.etcdPeer)
	var err error
	c.etcd, err = c.spawn("etcd", []string{c.bin.Etcd, "--name", "default", "--data-dir", c.path("etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer})
	if err != nil {
		return err
	}
	return poll(ctx, 30*time.Second, c.etcd, "etcd /health", httpOK(selfSignedClient, client+"/health", ""))
}

func (c *Cluster) apiServerArgs() []string {
	return []string{c.bin.APIServer,
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(c.ports.etcd),
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(c.ports.api),
		"--advertise-address=" + c.net.nodeIP,
		"--cert-dir=" + c.path("apiserver"), // not /var/run/kubernetes
		"--tls-cert-file=" + c.path("pki", "apiserver.crt"), "--tls-private-key-file=" + c.path("pki", "apiserver.key"),
		"--token-auth-file=" + c.path("pki", "tokens.csv"),
		"--authorization-mode=RBAC",
		// The ServiceAccount admission plugin is on (the default): a pod
		// gets its service account's token, which the kubelet asks for with
		// the TokenRequest API (signed with the key below), and the CA of
		// kube-root-ca.crt, which the controller-manager publishes in every
		// namespace.
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + c.path("pki", "sa.pub"),
		"--service-account-signing-key-file=" + c.path("pki", "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		// No Service reaches the API server: there is no kube-proxy.
		"--endpoint-reconciler-type=none",
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true", "--profiling=false",
	}
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	var err error
	if c.apiserver, err = c.spawn("kube-apiserver", c.apiServerArgs()); err != nil {
		return err
	}
	client, err := c.apiClient()
	if err != nil {
		return err
	}
	return poll(ctx, 90*time.Second, c.apiserver, "kube-apiserver /readyz", httpOK(client, url("127.0.0.1", c.ports.api, "/readyz"), c.admin))
}

// startControllers runs the controller-manager (StatefulSets, Jobs and
// CronJobs, each namespace's default service account, and the API server's
// CA as ConfigMap kube-root-ca.crt for in-cluster clients) and the
// scheduler, neither electing a leader.
func (c *Cluster) startControllers(ctx context.Context) error {
	kubeconfig := c.path("etc", "components.kubeconfig")
	var err error
	c.controllers, err = c.spawn("kube-controller-manager", []string{c.bin.ControllerManager,
		"--kubeconfig=" + kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(c.ports.controllers),
		"--service-account-private-key-file=" + c.path("pki", "sa.key"),
		"--root-ca-file=" + c.path("pki", "apiserver.crt"),
		"--flex-volume-plugin-dir=" + c.path("flexvolume"), // it would create the host's default
	})
	if err != nil {
		return err
	}
	c.scheduler, err = c.spawn("kube-scheduler", []string{c.bin.Scheduler,
		"--kubeconfig=" + kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(c.ports.scheduler),
	})
	if err != nil {
		return err
	}
	if err := poll(ctx, 60*time.Second, c.controllers, "kube-controller-manager /healthz", httpOK(selfSignedClient, url("127.0.0.1", c.ports.controllers, "/healthz"), "")); err != nil {
		return err
	}
	return poll(ctx, 60*time.Second, c.scheduler, "kube-scheduler /healthz", httpOK(selfSignedClient, url("127.0.0.1", c.ports.scheduler, "/healthz"), ""))
}

// startKubelet runs the kubelet in containerd's mount namespace (the
// volumes it mounts must be where containerd mounts them into containers)
// and waits for its /healthz, then for the node's Ready condition: a
// restarted cluster shows the node's old status for a moment.
func (c *Cluster) startKubelet(ctx context.Context) error {
	config, err := c.kubeletConfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("etc", "kubelet.yaml"), config, 0o644); err != nil {
		return err
	}
	c.kubelet, err = c.spawn("kubelet", []string{"nsenter", "--mount=/proc/" + strconv.Itoa(c.containerd.cmd.Process.Pid) + "/ns/mnt", "--",
		c.bin.Kubelet, "--config=" + c.path("etc", "kubelet.yaml"),
		"--kubeconfig=" + c.path("etc", "components.kubeconfig"),
		"--root-dir=" + c.path("kubelet"), "--cert-dir=" + c.path("kubelet", "pki"),
		"--hostname-override=" + NodeName, "--node-ip=" + c.net.nodeIP,
	}, PrefixEnv+"="+c.path("host"))
	if err != nil {
		return err
	}
	healthz := "http://127.0.0.1:" + strconv.Itoa(c.ports.kubeletHealthz) + "/healthz"
	if err := poll(ctx, 60*time.Second, c.kubelet, "kubelet /healthz", httpOK(selfSignedClient, healthz, "")); err != nil {
		return err
	}
	return poll(ctx, 90*time.Second, c.kubelet, "node "+NodeName+" Ready", c.nodeReady)
}

func (c *Cluster) nodeReady(ctx context.Context) error {
	out, err := c.kubectl(ctx, nil, "get", "node", NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].message}`)
	if err != nil {
		return err
	}
	if len(out) < 4 || out[:4] != "True" {
		return fmt.Errorf("node %s not Ready: %s", NodeName, out)
	}
	return nil
}

// kubeletConfig is the kubelet's configuration: everything under the
// root, nothing set on the host.
func (c *Cluster) kubeletConfig() ([]byte, error) {
	return jsonDoc(map[string]any{
		"apiVersion": "kubelet.config.k8s.io/v1beta1",
		"kind":       "KubeletConfiguration",
		"address":    c.net.nodeIP,
		"port":       c.ports.kubelet,
		// The API server reaches it anonymously (no client certificate).
		"authentication":     map[string]any{"anonymous": map[string]any{"enabled": true}, "webhook": map[string]any{"enabled": false}},
		"authorization":      map[string]any{"mode": "AlwaysAllow"},
		"readOnlyPort":       0,
		"healthzBindAddress": "127.0.0.1", "healthzPort": c.ports.kubeletHealthz,
		"cgroupDriver":             "cgroupfs",
		"cgroupRoot":               c.cgroup,
		"containerRuntimeEndpoint": "unix://" + c.path("run", "containerd.sock"),
		"failSwapOn":               false,
		// This machine's cgroups are v1, which 1.33 still runs on.
		"failCgroupV1": false,
		// Leaves the host's iptables alone.
		"makeIPTablesUtilChains": false,
		// Nothing here can lower an oom_score_adj (no CAP_SYS_RESOURCE).
		"oomScoreAdj":                 0,
		"podLogsDir":                  c.path("log", "pods"),
		"volumePluginDir":             c.path("volume-plugins"),
		"evictionHard":                map[string]string{"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
	})
}
