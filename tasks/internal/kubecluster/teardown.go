//go:build linux

package kubecluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// teardown stops the cluster and removes what it made on the host, in an
// order that lets each part clean up after itself: the pods while the
// kubelet runs (it unmounts their volumes, CNI DEL frees their addresses),
// what is left by force, then the bridge, cgroups and root. It returns
// what it could not remove.
func (c *Cluster) teardown() []error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	// Nothing may recreate the pods being deleted.
	c.controllers.stop(5 * time.Second)
	c.scheduler.stop(5 * time.Second)
	if c.kubelet != nil && c.kubelet.exited() == nil && c.apiserver.exited() == nil {
		if _, err := c.kubectl(ctx, nil, "delete", "pods", "--all", "--all-namespaces", "--grace-period=2", "--timeout=60s"); err != nil {
			errs = append(errs, err)
		}
	}
	c.kubelet.stop(10 * time.Second)
	if c.containerd != nil {
		c.killTasks(ctx)
		c.containerd.stop(10 * time.Second)
	}
	c.apiserver.stop(10 * time.Second)
	c.etcd.stop(10 * time.Second)
	killAll(c.leftProcesses())
	killAll(cgroupPIDs(c.cgroup))
	if err := poll(ctx, 10*time.Second, nil, "cgroup "+c.cgroup+" removed", func(context.Context) error { return removeCgroup(c.cgroup) }); err != nil {
		errs = append(errs, err)
	}
	if err := c.net.removeCNIResults(c.cniDirs); err != nil {
		errs = append(errs, err)
	}
	if err := c.net.delete(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.removeRoot()...)
	// Kept otherwise, until this process ends: the next Start tries again.
	if len(errs) == 0 {
		c.release()
	}
	return errs
}

// killTasks kills what is left running in containerd (pods the kubelet
// had no time to stop).
func (c *Cluster) killTasks(ctx context.Context) {
	out, err := c.ctr(ctx, "tasks", "ls", "--quiet")
	if err != nil {
		return
	}
	for _, id := range strings.Fields(out) {
		_, _ = c.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id)
		_, _ = c.ctr(ctx, "tasks", "delete", "--force", id)
	}
}

// leftProcesses are the processes that name the cluster's root on their
// command line (shims whose task could not be deleted, daemons of a
// cluster whose test was killed) or share its mount namespace.
func (c *Cluster) leftProcesses() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		ns, _ := os.Readlink("/proc/" + e.Name() + "/ns/mnt")
		if strings.Contains(string(cmdline), c.root+"/") || (c.mountNS != "" && ns == c.mountNS) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killAll kills the processes pids, each by its id, and waits for them to
// be gone.
func killAll(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = poll(context.Background(), 10*time.Second, nil, "processes gone", func(context.Context) error {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("process %d still runs", pid)
			}
		}
		return nil
	})
}

// removeRoot unmounts what is still mounted under the root on the host
// (nothing, when the kubelet ran in containerd's namespace) and removes
// the root; it keeps the root when something stays mounted, rather than
// remove files through a mount.
func (c *Cluster) removeRoot() []error {
	var errs []error
	for _, m := range slices.Backward(mountsUnder(c.root)) {
		if err := syscall.Unmount(m, 0); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if err := os.RemoveAll(c.root); err != nil {
		return []error{err}
	}
	return nil
}

// mountsUnder are the host's mount points under dir, in mount order.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+string(filepath.Separator))) {
			mounts = append(mounts, f[4])
		}
	}
	return mounts
}
