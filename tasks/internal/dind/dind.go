// Package dind runs a second Docker engine in a container for a test: an
// engine that does not share this machine's filesystem, as Docker
// Desktop's virtual machine, a remote engine (DOCKER_HOST=tcp://, ssh://)
// or rootless Docker do not. It is reached over TCP on 127.0.0.1.
package dind

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
)

// Engine is a running second engine.
type Engine struct {
	Host   string // DOCKER_HOST value: tcp://127.0.0.1:PORT
	Client *client.Client
}

// Start runs the engine for t, publishing the given ports of its own (where
// the stacks it runs publish theirs) on this machine's 127.0.0.1 too, so
// that they answer where they would on a remote engine's machine. It loads
// the images refs into it, as a registry would give them, and removes it
// with its storage when t ends.
func Start(t *testing.T, ports []int, refs ...string) *Engine {
	t.Helper()
	eng := pgtest.RequireDocker(t)
	pgtest.RequireImage(t, eng, images.Dockerd.Ref)
	loopback := netip.MustParseAddr("127.0.0.1")
	api := network.MustParsePort("2375/tcp")
	exposed := network.PortSet{api: {}}
	bindings := network.PortMap{api: {{HostIP: loopback}}}
	for _, p := range ports {
		port := network.MustParsePort(strconv.Itoa(p) + "/tcp")
		exposed[port] = struct{}{}
		bindings[port] = []network.PortBinding{{HostIP: loopback, HostPort: strconv.Itoa(p)}}
	}
	created, err := eng.ContainerCreate(t.Context(), client.ContainerCreateOptions{
		Config: &container.Config{
			Image:        images.Dockerd.Ref,
			ExposedPorts: exposed,
			Labels:       map[string]string{tcenv.SessionLabel: os.Getenv("TESTCONTAINERS_SESSION_ID")},
		},
		HostConfig: &container.HostConfig{
			// --privileged fails on machines without CAP_SYS_RESOURCE; this
			// is privileged less that one capability.
			CapAdd:      []string{"ALL"},
			CapDrop:     []string{"SYS_RESOURCE"},
			SecurityOpt: []string{"seccomp=unconfined", "apparmor=unconfined"},
			// --security-opt systempaths=unconfined, as the API spells it.
			MaskedPaths:   []string{},
			ReadonlyPaths: []string{},
			Binds:         []string{"/sys/fs/cgroup:/sys/fs/cgroup:rw"},
			Mounts:        []mount.Mount{{Type: mount.TypeVolume, Target: "/var/lib/docker"}},
			PortBindings:  bindings,
		},
	})
	if err != nil {
		t.Fatalf("create the second engine: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = eng.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	})
	if _, err := eng.ContainerStart(t.Context(), created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start the second engine: %v", err)
	}
	insp, err := eng.ContainerInspect(t.Context(), created.ID, client.ContainerInspectOptions{})
	if err != nil || len(insp.Container.NetworkSettings.Ports[api]) == 0 {
		t.Fatalf("the second engine's port: %v", err)
	}
	e := &Engine{Host: "tcp://127.0.0.1:" + insp.Container.NetworkSettings.Ports[api][0].HostPort}
	e.Client, err = client.New(client.WithHost(e.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("client of the second engine: %v", err)
	}
	t.Cleanup(func() { e.Client.Close() })
	if err := e.waitReady(t.Context()); err != nil {
		logs, _ := eng.ContainerLogs(context.Background(), created.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"})
		var tail []byte
		if logs != nil {
			buf := make([]byte, 4096)
			n, _ := logs.Read(buf)
			tail = buf[:n]
		}
		t.Fatalf("the second engine did not answer on %s: %v\n%s", e.Host, err, tail)
	}
	for _, ref := range refs {
		start := time.Now()
		if err := e.load(t.Context(), eng.Client, ref); err != nil {
			t.Fatalf("load %s into the second engine: %v", ref, err)
		}
		t.Logf("loaded %s into the second engine in %s", ref, time.Since(start).Round(time.Millisecond))
	}
	return e
}

// waitReady polls the engine until it answers.
func (e *Engine) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := e.Client.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// load copies image ref from this machine's engine, streaming.
func (e *Engine) load(ctx context.Context, from *client.Client, ref string) error {
	saved, err := from.ImageSave(ctx, []string{ref})
	if err != nil {
		return err
	}
	defer saved.Close()
	loaded, err := e.Client.ImageLoad(ctx, saved)
	if err != nil {
		return err
	}
	defer loaded.Close()
	_, err = io.Copy(io.Discard, loaded)
	return err
}
