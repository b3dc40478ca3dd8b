package stack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
)

// PortFree reports whether a TCP port can be listened on, on every interface
// (as Docker publishes it).
func PortFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ListeningInodes reads /proc/net/tcp or tcp6 and returns the socket inode of
// each port in LISTEN state.
func ListeningInodes(r io.Reader) map[int]string {
	out := map[int]string{}
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // 0A: TCP_LISTEN
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseInt(hexPort, 16, 32)
		if err == nil {
			out[int(port)] = f[9]
		}
	}
	return out
}

// PortHolder names the host process listening on port, e.g. "python3
// (pid 4242)", or "" when it cannot be told (another user's process, or
// another network namespace).
func PortHolder(port int) string {
	inode := ""
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if fh, err := os.Open(f); err == nil {
			if in, ok := ListeningInodes(fh)[port]; ok {
				inode = in
			}
			fh.Close()
		}
		if inode != "" {
			break
		}
	}
	if inode == "" {
		return ""
	}
	target := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if link, err := os.Readlink(fd); err == nil && link == target {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("%s (pid %s)", strings.TrimSpace(string(comm)), pid)
		}
	}
	return ""
}

// HolderOf names what holds a host port: another container first (its
// docker-proxy would otherwise be named), then a host process.
func HolderOf(ctx context.Context, eng *engine.Engine, port int) string {
	if list, err := eng.ContainerList(ctx, client.ContainerListOptions{}); err == nil {
		for _, c := range list.Items {
			for _, p := range c.Ports {
				if int(p.PublicPort) == port {
					name := engine.ContainerName(c)
					if proj := c.Labels[composecli.LabelProject]; proj != "" {
						return fmt.Sprintf("container %s (compose project %s)", name, proj)
					}
					return "container " + name
				}
			}
		}
	}
	return PortHolder(port)
}
