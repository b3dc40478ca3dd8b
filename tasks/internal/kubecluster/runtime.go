//go:build linux

package kubecluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/template"
	"time"
)

// containerdConfig is a private containerd's: its root, state, sockets,
// runc state, CNI and opt folders all under the cluster's root.
var containerdConfig = template.Must(template.New("containerd").Parse(`version = 2
root = "{{.Root}}/containerd/root"
state = "{{.Root}}/containerd/state"
# Snapshotters that probe the host (aufs loads a kernel module) or are unused.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{{.Root}}/run/containerd.sock"
[ttrpc]
  address = "{{.Root}}/run/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{{.Root}}/containerd/opt"
# The tasks service needs the legacy runtime loaded, unused as it is.
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "{{.Root}}/run/runc-v1"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.Pause}}"
  # The pause container asks for oom_score_adj -998, which nothing here may set.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  # No AppArmor profile loaded into the host's kernel.
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{{.Root}}/run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{{.CNIBin}}"
    conf_dir = "{{.Root}}/etc/cni"
`))

// startRuntime runs the private containerd with the pod network's CNI
// configuration and gives it the pause image and images.
func (c *Cluster) startRuntime(ctx context.Context, images []string) error {
	if err := c.writeRuntimeConfig(); err != nil {
		return err
	}
	if err := c.startContainerd(ctx); err != nil {
		return err
	}
	if _, err := c.ctr(ctx, "images", "import", c.bin.Pause); err != nil {
		return err
	}
	for _, ref := range images {
		if err := c.importFromDocker(ctx, ref); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) writeRuntimeConfig() error {
	for _, d := range []string{"etc/cni", "run", "cni-ipam", "run/shims", "host/var/log/containers"} {
		if err := os.MkdirAll(c.path(d), 0o755); err != nil {
			return err
		}
	}
	cni, err := c.net.cniConfig(c.path("cni-ipam"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.path("etc", "cni", "10-stevedore.conflist"), cni, 0o644); err != nil {
		return err
	}
	f, err := os.Create(c.path("etc", "containerd.toml"))
	if err != nil {
		return err
	}
	defer f.Close()
	return containerdConfig.Execute(f, map[string]string{"Root": c.root, "Pause": PauseImage, "CNIBin": c.bin.CNIDir})
}

// ownMounts puts containerd in a mount namespace of its own where the
// cluster's run/shims is /run/containerd: containerd 1.6 puts its shims'
// sockets in /run/containerd/s whatever its configuration, and that folder
// is Docker's. The kubelet joins it, and its legacy log symlinks (a fixed
// /var/log/containers the patches do not move) land in the cluster's root
// on a host that has that folder; on one without, the kubelet only logs
// that it could not make them. Every mount containerd and the kubelet make
// stays in that namespace, and goes when its last process ends.
const ownMounts = `if [ -d /run/containerd ]; then mount --bind "$1" /run/containerd || exit; fi
if [ -d /var/log/containers ]; then mount --bind "$2" /var/log/containers || exit; fi
exec containerd --config "$3"`

// cniDirsFile, under the root, lists the folders of cniResultsDir that the
// cluster made.
const cniDirsFile = "cni-dirs-made"

func (c *Cluster) startContainerd(ctx context.Context) error {
	c.cniDirs = missingDirs()
	// Kept for a teardown by another test binary, should this one be killed.
	if err := os.WriteFile(c.path(cniDirsFile), []byte(strings.Join(c.cniDirs, "\n")), 0o644); err != nil {
		return err
	}
	var err error
	c.containerd, err = c.spawn("containerd", []string{"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", ownMounts, "sh", c.path("run", "shims"), c.path("host", "var", "log", "containers"), c.path("etc", "containerd.toml")})
	if err != nil {
		return err
	}
	if err := poll(ctx, 30*time.Second, c.containerd, "containerd", func(ctx context.Context) error {
		_, err := c.ctr(ctx, "version")
		return err
	}); err != nil {
		return err
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", c.containerd.cmd.Process.Pid))
	c.mountNS = ns
	return err
}

// ctr runs ctr on the cluster's containerd, in Kubernetes' namespace.
func (c *Cluster) ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", c.path("run", "containerd.sock"), "--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// importFromDocker copies the Docker engine's image ref into the cluster's
// containerd: docker save | ctr images import -.
func (c *Cluster) importFromDocker(ctx context.Context, ref string) error {
	save := exec.CommandContext(ctx, "docker", "save", ref)
	load := exec.CommandContext(ctx, "ctr", "--address", c.path("run", "containerd.sock"), "--namespace", "k8s.io", "images", "import", "-")
	pipe, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	load.Stdin = pipe
	var saveErr, loadOut strings.Builder
	save.Stderr = &saveErr
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := save.Start(); err != nil {
		return fmt.Errorf("docker save %s: %w", ref, err)
	}
	loadErr := load.Run()
	if err := save.Wait(); err != nil {
		return fmt.Errorf("docker save %s: %w: %s", ref, err, saveErr.String())
	}
	if loadErr != nil {
		return fmt.Errorf("ctr images import %s: %w: %s", ref, loadErr, loadOut.String())
	}
	return nil
}
