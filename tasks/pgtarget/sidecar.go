package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/engine"
)

const (
	// LabelSidecar marks the short-lived containers that run pg_dump and psql.
	LabelSidecar = "dev.stevedore.sidecar"
	// labelOwner names the process that started a sidecar: host and pid.
	labelOwner = "dev.stevedore.owner"
)

// sidecarSpec is a client program to run in a new container from the
// database's own image, sharing the database container's network (so
// 127.0.0.1 is the server).
type sidecarSpec struct {
	role   string   // its label value: "dump", "load"
	cmd    []string // entrypoint and arguments
	env    []string
	user   string
	binds  []string
	attach bool // standard input, output and error through the engine
}

// sidecar is a started sidecar container.
type sidecar struct {
	id     string
	stream client.HijackedResponse // when attached
	exited chan struct{}           // closed once the container is gone
	status int64                   // its exit status, -1 when unknown
	err    error                   // why its exit status is unknown
}

// runSidecar starts spec, runs transfer while it runs, and waits until the
// program is done: for as long as the data needs (psql building indexes
// after the last row). The container removes itself when it exits, also
// when this process is killed; Ctrl-C (any end of ctx) or a failed
// transfer removes it at once, which ends its streams.
func (d *Docker) runSidecar(ctx context.Context, spec sidecarSpec, transfer func(*sidecar) error) (*sidecar, error) {
	sc, err := d.runSidecarOnce(ctx, spec, transfer)
	var early *stoppedBeforeStart
	if errors.As(err, &early) && ctx.Err() == nil {
		return d.runSidecarOnce(ctx, spec, transfer)
	}
	return sc, err
}

// stoppedBeforeStart is a sidecar whose first process ended between its
// creation and its start ("cannot start a stopped process", seen once here
// on a loaded engine): nothing ran, so it is made again, once.
type stoppedBeforeStart struct{ err error }

func (e *stoppedBeforeStart) Error() string { return e.err.Error() }
func (e *stoppedBeforeStart) Unwrap() error { return e.err }

func (d *Docker) runSidecarOnce(ctx context.Context, spec sidecarSpec, transfer func(*sidecar) error) (*sidecar, error) {
	created, err := d.eng.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:      d.image,
			Entrypoint: spec.cmd[:1],
			Cmd:        spec.cmd[1:],
			User:       spec.user,
			Env:        spec.env,
			Labels:     map[string]string{LabelSidecar: spec.role, labelOwner: owner()},
			OpenStdin:  spec.attach, StdinOnce: spec.attach,
			AttachStdin: spec.attach, AttachStdout: spec.attach, AttachStderr: spec.attach,
		},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + d.id),
			Binds:       spec.binds,
			AutoRemove:  true,
		},
	})
	if err != nil {
		return nil, d.containerErr(ctx, fmt.Errorf("create %s sidecar for %s: %w", spec.role, d.name, err))
	}
	sc := &sidecar{id: created.ID, exited: make(chan struct{}), status: -1}
	if spec.attach {
		// Attached before start, so no output is lost.
		att, err := d.eng.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
		if err != nil {
			d.remove(created.ID)
			return nil, d.containerErr(ctx, fmt.Errorf("attach to %s sidecar for %s: %w", spec.role, d.name, err))
		}
		sc.stream = att.HijackedResponse
		defer att.Close()
	}
	// Wait is set up before start too, or an AutoRemove container could be
	// gone before we ask for its exit status.
	waitCtx, stopWait := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWait()
	wait := d.eng.ContainerWait(waitCtx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
	if _, err := d.eng.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		d.remove(created.ID)
		err = d.containerErr(ctx, fmt.Errorf("start %s sidecar for %s: %w", spec.role, d.name, err))
		if strings.Contains(err.Error(), "cannot start a stopped process") {
			return nil, &stoppedBeforeStart{err}
		}
		return nil, err
	}
	stopOnCancel := context.AfterFunc(ctx, func() { d.remove(created.ID) })
	defer stopOnCancel()
	go func() {
		defer close(sc.exited)
		select {
		case r := <-wait.Result:
			sc.status = r.StatusCode
			if r.Error != nil && r.Error.Message != "" {
				sc.err = errors.New(r.Error.Message)
			}
		case err := <-wait.Error:
			sc.err = err
		}
	}()

	transferErr := transfer(sc)
	if transferErr != nil || ctx.Err() != nil {
		d.remove(created.ID) // stop the client program at once
	}
	<-sc.exited
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return sc, transferErr
}

func (d *Docker) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = d.eng.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

func owner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// SweepOrphans removes what runs killed mid-transfer left on this machine:
// sidecar containers whose owner is dead (a pg_dump still waiting for a
// reader that will never come) and their exchange folders, which hold a
// password file. It returns how many it removed.
func SweepOrphans(ctx context.Context, eng *engine.Engine) (int, error) {
	host, _ := os.Hostname()
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{
		All: true, Filters: make(client.Filters).Add("label", LabelSidecar),
	})
	if err != nil {
		return 0, fmt.Errorf("list sidecars: %w", err)
	}
	removed := 0
	for _, c := range list.Items {
		h, pid, ok := parseOwner(c.Labels[labelOwner])
		if !ok || h != host || alive(pid) {
			continue
		}
		if _, err := eng.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
			removed++
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), ioDirPrefix+"*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), ioDirPrefix), "-")
		if pid, err := strconv.Atoi(pidText); err == nil && !alive(pid) {
			if os.RemoveAll(d) == nil {
				removed++
			}
		}
	}
	return removed, nil
}

// ioDirPrefix starts the name of a sidecar's exchange folder, followed by
// the pid of the process that made it.
const ioDirPrefix = "stevedore-io-"

func parseOwner(label string) (host string, pid int, ok bool) {
	i := strings.LastIndexByte(label, ':')
	if i < 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(label[i+1:])
	return label[:i], pid, err == nil
}
