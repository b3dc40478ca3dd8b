//go:build linux

package kubecluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Version is the Kubernetes built: 1.33 is the last minor whose kubelet
// still runs on cgroup v1 (failCgroupV1: false), which these machines use.
const Version = "v1.33.13"

// stagingVersion is the version of the staging modules (k8s.io/api, …)
// released with Version.
const stagingVersion = "v0.33.13"

// kubeCommands are the programs built from k8s.io/kubernetes/cmd: the
// controller-manager and scheduler turn a StatefulSet into a scheduled pod.
var kubeCommands = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl"}

// Binaries are the programs a cluster runs, all under the cache dir.
type Binaries struct {
	APIServer, ControllerManager, Scheduler, Kubelet, Kubectl string
	Etcd                                                      string // Debian's etcd-server
	CNIDir                                                    string // Debian's containernetworking-plugins (bridge, host-local, loopback)
	Pause                                                     string // the pause image, a one-layer OCI tarball named PauseImage
}

// CacheDir is where a version's programs are kept.
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "stevedore", "kube", Version), nil
}

func binariesIn(dir string) Binaries {
	bin := filepath.Join(dir, "bin")
	return Binaries{
		APIServer:         filepath.Join(bin, "kube-apiserver"),
		ControllerManager: filepath.Join(bin, "kube-controller-manager"),
		Scheduler:         filepath.Join(bin, "kube-scheduler"),
		Kubelet:           filepath.Join(bin, "kubelet"),
		Kubectl:           filepath.Join(bin, "kubectl"),
		Etcd:              filepath.Join(dir, "debs", "usr", "bin", "etcd"),
		CNIDir:            filepath.Join(dir, "debs", "usr", "lib", "cni"),
		Pause:             filepath.Join(dir, "pause.tar"),
	}
}

func (b Binaries) all() []string {
	return []string{b.APIServer, b.ControllerManager, b.Scheduler, b.Kubelet, b.Kubectl, b.Etcd, filepath.Join(b.CNIDir, "bridge"), b.Pause}
}

func (b Binaries) present() bool {
	for _, p := range b.all() {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// Build returns the cluster's programs, building what the cache lacks:
// Kubernetes from the Go module proxy (about 6 minutes and 2 GB of RAM on
// two cores the first time; 4 GB of Go caches kept under the cache dir), etcd
// and the CNI plugins from Debian's packages (downloaded, not installed),
// and the pause image. Concurrent test packages wait for one build; log
// hears one line when a build starts, the build's output goes to a file.
func Build(ctx context.Context, log io.Writer) (Binaries, error) {
	dir, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	b := binariesIn(dir)
	if b.present() {
		return b, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Binaries{}, err
	}
	lock := flock.New(dir + ".lock")
	if _, err := lock.TryLockContext(ctx, 500*time.Millisecond); err != nil {
		return Binaries{}, fmt.Errorf("wait for another build of Kubernetes %s: %w", Version, err)
	}
	defer lock.Unlock()
	if b.present() {
		return b, nil // built while this one waited
	}
	buildLog := filepath.Join(dir, "build.log")
	fmt.Fprintf(log, "building Kubernetes %s from the Go module proxy, etcd and CNI plugins from Debian into %s (first time only: about 6 minutes on 2 cores; output in %s)\n", Version, dir, buildLog)
	out, err := os.Create(buildLog)
	if err != nil {
		return Binaries{}, err
	}
	defer out.Close()
	start := time.Now()
	if err := buildAll(ctx, dir, b, out); err != nil {
		return Binaries{}, fmt.Errorf("%w (log: %s)", err, buildLog)
	}
	fmt.Fprintf(out, "built in %s\n", time.Since(start).Round(time.Second))
	return b, nil
}

func buildAll(ctx context.Context, dir string, b Binaries, out io.Writer) error {
	g := goEnv(filepath.Dir(dir))
	for _, d := range []string{g.modCache, g.buildCache, g.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	src, err := g.download(ctx, out, "k8s.io/kubernetes@"+Version)
	if err != nil {
		return err
	}
	if err := buildKube(ctx, g, src, dir, out); err != nil {
		return err
	}
	if err := fetchDebs(ctx, dir, out); err != nil {
		return err
	}
	return buildPause(ctx, src, dir, b.Pause, out)
}

// goTool runs the go command with every cache and temporary file under the
// kube cache dir, and none of the project's settings.
type goTool struct{ modCache, buildCache, tmp string }

func goEnv(kubeDir string) goTool {
	root := filepath.Join(kubeDir, "go")
	return goTool{modCache: filepath.Join(root, "mod"), buildCache: filepath.Join(root, "build"), tmp: filepath.Join(root, "tmp")}
}

func (g goTool) command(ctx context.Context, dir string, out io.Writer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0",
		"GOMODCACHE="+g.modCache, "GOCACHE="+g.buildCache, "GOTMPDIR="+g.tmp)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// download fetches a module into the module cache and returns its folder.
func (g goTool) download(ctx context.Context, log io.Writer, module string) (string, error) {
	var stdout bytes.Buffer
	cmd := g.command(ctx, g.tmp, log, "mod", "download", "-json", module)
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("download %s from the Go module proxy: %w", module, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("download %s: %s %v", module, m.Error, err)
	}
	return m.Dir, nil
}

// buildKube builds kubeCommands through a wrapper module: kubernetes'
// go.mod replaces its staging modules with folders of its own repository,
// which `go install k8s.io/kubernetes/cmd/...@v` refuses.
func buildKube(ctx context.Context, g goTool, src, dir string, out io.Writer) error {
	wrapper := filepath.Join(dir, "wrapper")
	if err := os.RemoveAll(wrapper); err != nil {
		return err
	}
	if err := linkTree(src, filepath.Join(wrapper, "copy")); err != nil {
		return fmt.Errorf("copy k8s.io/kubernetes: %w", err)
	}
	if err := applyPatches(filepath.Join(wrapper, "copy")); err != nil {
		return err
	}
	gomod, err := wrapperGoMod(filepath.Join(src, "go.mod"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(wrapper, "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	tmpBin := filepath.Join(dir, "bin.tmp")
	if err := os.RemoveAll(tmpBin); err != nil {
		return err
	}
	args := []string{"build", "-mod=mod", "-trimpath", "-ldflags", versionLDFlags(), "-o", tmpBin + "/"}
	for _, c := range kubeCommands {
		args = append(args, "k8s.io/kubernetes/cmd/"+c)
	}
	if err := g.command(ctx, wrapper, out, args...).Run(); err != nil {
		return fmt.Errorf("go build Kubernetes %s: %w", Version, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	for _, c := range kubeCommands {
		if err := os.Rename(filepath.Join(tmpBin, c), filepath.Join(dir, "bin", c)); err != nil {
			return err
		}
	}
	return os.RemoveAll(tmpBin)
}

// versionLDFlags sets what hack/lib/version.sh sets: without it the
// programs report v0.0.0 and the kubelet's version skew checks complain.
func versionLDFlags() string {
	minor := strings.Split(Version, ".")[1]
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+Version,
			"-X", pkg+".gitMajor=1",
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean",
			"-X", pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	return strings.Join(flags, " ")
}

var stagingReplace = regexp.MustCompile(`^\s*(k8s\.io/[^\s]+)\s+=>\s+\./staging/`)

// wrapperGoMod requires k8s.io/kubernetes (from ./copy) and replaces each
// staging module kubernetes' own go.mod maps to a folder by its release.
func wrapperGoMod(kubeGoMod string) ([]byte, error) {
	f, err := os.Open(kubeGoMod)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "module stevedore.invalid/kubebuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace k8s.io/kubernetes => ./copy\n\nreplace (\n", Version)
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); {
		if m := stagingReplace.FindStringSubmatch(s.Text()); m != nil {
			fmt.Fprintf(&b, "\t%s => %s %s\n", m[1], m[1], stagingVersion)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("no staging replace directives in %s", kubeGoMod)
	}
	b.WriteString(")\n")
	return b.Bytes(), nil
}

// linkTree copies the read-only module folder src to dst as hard links
// (copies across file systems), so that patched files can be replaced.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// patch is a one-line change to a kubelet file.
type patch struct{ file, old, new string }

// PrefixEnv names the folder the patched kubelet puts its two fixed host
// paths under (/var/log/containers, /var/lib/kubelet/device-plugins).
const PrefixEnv = "STEVEDORE_KUBELET_PREFIX"

// patches keep the kubelet off the host: it would set the sysctls
// vm.overcommit_memory, kernel.panic and kernel.panic_on_oops (no setting
// stops it; Warn only logs them), and it writes to two fixed host folders.
var patches = []patch{
	{"pkg/kubelet/cm/container_manager_linux.go", "b := KernelTunableModify", "b := KernelTunableWarn"},
	{"pkg/kubelet/kubelet.go", "ContainerLogsDir = DefaultContainerLogsDir",
		`ContainerLogsDir = filepath.Join(os.Getenv("` + PrefixEnv + `"), DefaultContainerLogsDir)`},
	{"pkg/kubelet/cm/devicemanager/manager.go", "socketPath := pluginapi.KubeletSocket",
		`socketPath := filepath.Join(os.Getenv("` + PrefixEnv + `"), pluginapi.KubeletSocket)`},
}

// applyPatches replaces each patched file (a hard link into the module
// cache) with a patched copy, and fails when a line is not found once.
func applyPatches(copyDir string) error {
	for _, p := range patches {
		file := filepath.Join(copyDir, p.file)
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte(p.old)); n != 1 {
			return fmt.Errorf("patch %s: %q found %d times, want 1", p.file, p.old, n)
		}
		b = bytes.Replace(b, []byte(p.old), []byte(p.new), 1)
		if err := os.Remove(file); err != nil {
			return err
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fetchDebs unpacks Debian's etcd and CNI plugins into dir/debs: apt-get
// download and dpkg-deb -x need no installation (and no systemd).
func fetchDebs(ctx context.Context, dir string, out io.Writer) error {
	dl := filepath.Join(dir, "debs.download")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dl)
	// Sandbox user root: _apt could not write into the cache dir.
	cmd := exec.CommandContext(ctx, "apt-get", "-o", "APT::Sandbox::User=root", "download", "etcd-server", "containernetworking-plugins")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dl, out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get download etcd-server containernetworking-plugins (run apt-get update?): %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 2 {
		return fmt.Errorf("apt-get download gave %v, want 2 packages", debs)
	}
	tmp := filepath.Join(dir, "debs.tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	for _, deb := range debs {
		x := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tmp)
		x.Stdout, x.Stderr = out, out
		if err := x.Run(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %w", filepath.Base(deb), err)
		}
	}
	// A build that failed later (the pause image) left the folder behind.
	if err := os.RemoveAll(filepath.Join(dir, "debs")); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "debs"))
}
