//go:build linux

package kubecluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

const cgroupFS = "/sys/fs/cgroup"

// hierarchies are the mounted cgroup hierarchies (v1 controllers, named
// ones and the unified one of hybrid mode): the kubelet's cgroupRoot must
// exist in each.
func hierarchies() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep < 0 || sep+1 >= len(f) || !strings.HasPrefix(f[sep+1], "cgroup") {
			continue
		}
		if strings.HasPrefix(f[4], cgroupFS) {
			dirs = append(dirs, f[4])
		}
	}
	if len(dirs) == 0 {
		return nil, errors.New("no cgroup hierarchy mounted under " + cgroupFS)
	}
	return dirs, nil
}

// createCgroup makes the kubelet's cgroupRoot, so that its kubepods
// cgroups are its own and not another cluster's.
func createCgroup(name string) error {
	dirs, err := hierarchies()
	if err != nil {
		return err
	}
	for _, h := range dirs {
		dir := filepath.Join(h, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		if filepath.Base(h) == "cpuset" {
			// A new v1 cpuset holds no CPUs and no memory nodes until given
			// its parent's; no process could join it.
			if err := inherit(h, dir, "cpuset.cpus", "cpuset.mems"); err != nil {
				return err
			}
		}
	}
	return nil
}

func inherit(parent, dir string, files ...string) error {
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(parent, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return fmt.Errorf("cgroup %s: %w", filepath.Join(dir, f), err)
		}
	}
	return nil
}

// cgroupPIDs are the processes in the cgroup name or below, in any
// hierarchy: what teardown kills when all else has stopped.
func cgroupPIDs(name string) []int {
	dirs, _ := hierarchies()
	var pids []int
	for _, h := range dirs {
		_ = filepath.WalkDir(filepath.Join(h, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// removeCgroup removes the cgroup name and every cgroup below it (the
// kubelet's kubepods, runc's pods), the deepest first.
func removeCgroup(name string) error {
	dirs, err := hierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range dirs {
		var tree []string
		_ = filepath.WalkDir(filepath.Join(h, name), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				tree = append(tree, p)
			}
			return nil
		})
		for _, d := range slices.Backward(tree) {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}
