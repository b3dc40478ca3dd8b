//go:build linux

package kubecluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// network is the cluster's pod bridge: the node's IP is its first address
// (a kubelet refuses a loopback node IP), pods get the rest of its /24.
type network struct {
	bridge string
	name   string // the CNI network, in the names of its cache entries
	subnet netip.Prefix
	nodeIP string
}

// createNetwork makes a bridge on a free 10.244.N.0/24; a lock keeps two
// clusters (parallel test packages) from taking the same one.
func createNetwork(id string) (network, error) {
	dir, err := CacheDir()
	if err != nil {
		return network{}, err
	}
	lock := flock.New(filepath.Join(filepath.Dir(dir), "network.lock"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := lock.TryLockContext(ctx, 100*time.Millisecond); err != nil {
		return network{}, fmt.Errorf("lock the choice of a pod network: %w", err)
	}
	defer lock.Unlock()
	subnet, err := freeSubnet()
	if err != nil {
		return network{}, err
	}
	n := networkOf(id)
	n.subnet, n.nodeIP = subnet, subnet.Addr().Next().String()
	for _, args := range [][]string{
		{"link", "add", "name", n.bridge, "type", "bridge"},
		{"addr", "add", n.nodeIP + "/24", "dev", n.bridge},
		{"link", "set", n.bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			n.delete()
			return network{}, fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return n, nil
}

// networkOf names the network of the cluster id.
func networkOf(id string) network {
	return network{bridge: "stvk" + id, name: "stevedore-" + id}
}

// freeSubnet is the first 10.244.N.0/24 no interface has an address in.
func freeSubnet() (netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Prefix{}, err
	}
	for n := range 256 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, byte(n), 0}), 24)
		if !overlaps(p, addrs) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /24 in 10.244.0.0/16")
}

func overlaps(p netip.Prefix, addrs []net.Addr) bool {
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok {
			q, err := netip.ParsePrefix(ipn.String())
			if err == nil && q.Overlaps(p) {
				return true
			}
		}
	}
	return false
}

func (n network) delete() error {
	if n.bridge == "" {
		return nil
	}
	if _, err := net.InterfaceByName(n.bridge); err != nil {
		return nil // never made, or gone
	}
	if out, err := exec.Command("ip", "link", "del", n.bridge).CombinedOutput(); err != nil {
		return fmt.Errorf("delete bridge %s: %w: %s", n.bridge, err, out)
	}
	return nil
}

// cniConfig attaches pods to the bridge. isGateway is off: the bridge has
// its address already and the plugin would otherwise turn on the host's
// IP forwarding; pods need no route beyond the bridge.
func (n network) cniConfig(ipamDir string) ([]byte, error) {
	first := n.subnet.Addr().Next().Next()
	return json.MarshalIndent(map[string]any{
		"cniVersion": "1.0.0",
		"name":       n.name,
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": n.bridge, "isGateway": false, "ipMasq": false,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  [][]map[string]string{{{"subnet": n.subnet.String(), "rangeStart": first.String()}}},
				"dataDir": ipamDir, // not /var/lib/cni/networks
			},
		}},
	}, "", "  ")
}

// cniResultsDir is where containerd 1.6's CNI library always caches
// results, whatever its configuration.
const cniResultsDir = "/var/lib/cni/results"

// missingDirs are the folders of cniResultsDir that do not exist yet, the
// deepest first: the ones teardown removes again when they are empty.
func missingDirs() []string {
	var missing []string
	for d := cniResultsDir; d != "/var/lib"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err != nil {
			missing = append(missing, d)
		}
	}
	return missing
}

// removeCNIResults deletes the cache entries of the network and of its
// pods' loopbacks (a pod killed without CNI DEL leaves them), and the
// folders of cniResultsDir the cluster made.
func (n network) removeCNIResults(made []string) error {
	entries, err := filepath.Glob(filepath.Join(cniResultsDir, n.name+"-*"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		// NAME-SANDBOX-IFNAME; the sandbox's loopback is cni-loopback-SANDBOX-lo.
		sandbox, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(e), n.name+"-"), "-")
		for _, f := range []string{e, filepath.Join(cniResultsDir, "cni-loopback-"+sandbox+"-lo")} {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	for _, d := range made {
		_ = os.Remove(d) // kept when something else has put files there
	}
	return nil
}
