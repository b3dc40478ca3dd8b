package pgtarget

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/proc"
)

// Docker is a database in a running Docker container.
type Docker struct {
	eng   *engine.Engine
	id    string
	name  string
	image string
	creds Credentials
	// addr is the container's address on its first network: a login there,
	// unlike one on its loopback, meets the password rules the application
	// meets.
	addr string
	// transport is how the last Dump or Load moved its data.
	transport string
}

// ContainerError says the database container cannot be used, and what to do.
type ContainerError struct {
	Msg, NextCmd string
}

func (e *ContainerError) Error() string { return e.Msg }

// Next is the command that fixes it.
func (e *ContainerError) Next() string { return e.NextCmd }

// OpenContainer returns the database in the running container ref (a name or
// an ID), reading its credentials from the container's own environment.
func OpenContainer(ctx context.Context, eng *engine.Engine, ref string) (*Docker, error) {
	res, err := eng.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, &ContainerError{Msg: fmt.Sprintf("no container named %q on this Docker engine", ref), NextCmd: "docker ps"}
	}
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", ref, err)
	}
	c := res.Container
	name := strings.TrimPrefix(c.Name, "/")
	if c.State == nil || !c.State.Running {
		state := "unknown"
		if c.State != nil {
			state = string(c.State.Status)
		}
		return nil, &ContainerError{Msg: fmt.Sprintf("database container %s is not running (%s)", name, state), NextCmd: "docker start " + name}
	}
	var env []string
	if c.Config != nil {
		env = c.Config.Env
	}
	creds, files := CredentialsFromEnv(env)
	d := &Docker{eng: eng, id: c.ID, name: name, image: c.Image, creds: creds, addr: networkAddress(c.NetworkSettings)}
	for k, path := range files {
		v, err := d.readFile(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("read %s_FILE %s from %s: %w", k, path, name, err)
		}
		switch k {
		case "POSTGRES_USER":
			d.creds.User = v
		case "POSTGRES_PASSWORD":
			d.creds.Password = v
		case "POSTGRES_DB":
			d.creds.Database = v
		}
	}
	return d, nil
}

func networkAddress(ns *container.NetworkSettings) string {
	if ns == nil {
		return ""
	}
	names := slices.Sorted(maps.Keys(ns.Networks))
	for _, n := range names {
		if ep := ns.Networks[n]; ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress.String()
		}
	}
	return ""
}

// FindService returns the name of the running container of a compose
// project's service.
func FindService(ctx context.Context, eng *engine.Engine, project, service string) (string, error) {
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{
		All: true,
		Filters: make(client.Filters).
			Add("label", composecli.LabelProject+"="+project).
			Add("label", composecli.LabelService+"="+service),
	})
	if err != nil {
		return "", fmt.Errorf("list containers of %s/%s: %w", project, service, err)
	}
	var stopped []string
	for _, c := range list.Items {
		if c.Labels[composecli.LabelOneOff] == "True" {
			continue
		}
		name := strings.TrimPrefix(firstOr(c.Names, c.ID), "/")
		if c.State == container.StateRunning {
			return name, nil
		}
		stopped = append(stopped, name)
	}
	if len(stopped) > 0 {
		return "", &ContainerError{Msg: fmt.Sprintf("the %s service of compose project %s is not running (%s)", service, project, strings.Join(stopped, ", ")),
			NextCmd: "go tool mage env:up"}
	}
	return "", &ContainerError{
		Msg:     fmt.Sprintf("no database container: compose project %s has no %s service running; pass -container=NAME or set STEVEDORE_DB_CONTAINER", project, service),
		NextCmd: "docker ps"}
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// Name is the container's name.
func (d *Docker) Name() string { return d.name }

// Describe names the container.
func (d *Docker) Describe() string { return "container " + d.name }

// Credentials are the container's.
func (d *Docker) Credentials() Credentials { return d.creds }

// Query runs psql in the database container over its local socket.
func (d *Docker) Query(ctx context.Context, db, sql string) (string, error) {
	stdout, stderr, code, err := d.exec(ctx, PsqlQueryArgs(d.creds, db, sql))
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", ParseExit("psql", code, stderr)
	}
	return stdout, nil
}

// Hold runs psql in the database container with its standard input open:
// releasing it, or this process dying (the engine then closes the attached
// stream), ends the session.
func (d *Docker) Hold(ctx context.Context, db, sql string) (string, func(), error) {
	id, att, err := d.attach(ctx, HoldArgs(d.creds, db, sql), true)
	if err != nil {
		return "", nil, err
	}
	out, errOut := newLineReader(), &proc.Tail{}
	go func() {
		_, err := stdcopy.StdCopy(out, errOut, att.Reader)
		out.close(err)
	}()
	first, err := out.first(ctx)
	if err != nil {
		att.Close()
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		insp, ierr := d.eng.ExecInspect(context.WithoutCancel(ctx), id, client.ExecInspectOptions{})
		if ierr != nil {
			return "", nil, fmt.Errorf("psql in %s: %w", d.name, err)
		}
		return "", nil, ParseExit("psql", insp.ExitCode, errOut.String())
	}
	release := func() {
		_ = att.CloseWrite() // end of input: psql ends the session
		out.wait()
		att.Close()
	}
	return first, release, nil
}

// FreeSpace runs df in the database container.
func (d *Docker) FreeSpace(ctx context.Context) (int64, error) {
	stdout, stderr, code, err := d.exec(ctx, []string{"sh", "-c", FreeSpaceScript})
	if err != nil {
		return 0, err
	}
	if code != 0 {
		return 0, ParseExit("df", code, stderr)
	}
	return ParseFreeSpace(stdout)
}

// exec runs args in the database container with the password in the
// process's environment (never its command line) and returns its output.
func (d *Docker) exec(ctx context.Context, args []string) (stdout, stderr string, code int, err error) {
	stdout, stderr, code, err = d.eng.Exec(ctx, d.id, args, d.env())
	if err != nil && ctx.Err() == nil {
		err = d.containerErr(ctx, fmt.Errorf("exec in %s: %w", d.name, err))
	}
	return stdout, stderr, code, err
}

// env is what every exec in the database container gets: the password and
// this process's application name.
func (d *Docker) env() []string {
	return []string{"PGPASSWORD=" + d.creds.Password, "PGAPPNAME=" + AppName()}
}

// attach starts args in the database container, with the password and
// this process's application name in its environment (never on its command
// line), standard input attached when asked for.
func (d *Docker) attach(ctx context.Context, args []string, stdin bool) (string, client.ExecAttachResult, error) {
	created, err := d.eng.ExecCreate(ctx, d.id, client.ExecCreateOptions{
		Cmd: args, Env: d.env(),
		AttachStdin: stdin, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return "", client.ExecAttachResult{}, d.containerErr(ctx, fmt.Errorf("exec in %s: %w", d.name, err))
	}
	att, err := d.eng.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", client.ExecAttachResult{}, fmt.Errorf("attach to exec in %s: %w", d.name, err)
	}
	return created.ID, att, nil
}

// containerErr turns an error about a container that stopped meanwhile into
// a ContainerError.
func (d *Docker) containerErr(ctx context.Context, err error) error {
	res, ierr := d.eng.ContainerInspect(context.WithoutCancel(ctx), d.id, client.ContainerInspectOptions{})
	if ierr == nil && res.Container.State != nil && !res.Container.State.Running {
		return &ContainerError{Msg: fmt.Sprintf("database container %s stopped", d.name), NextCmd: "docker start " + d.name}
	}
	return err
}

func (d *Docker) readFile(ctx context.Context, path string) (string, error) {
	res, err := d.eng.CopyFromContainer(ctx, d.id, client.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		return "", err
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		return "", err
	}
	data, err := io.ReadAll(io.LimitReader(tr, 1<<16))
	return strings.TrimRight(string(data), "\r\n"), err
}

// Dump runs pg_dump in a sidecar container and copies its output into w:
// through a FIFO in a folder the engine shares with this machine where it
// provably does, else through the engine's exec stream.
func (d *Docker) Dump(ctx context.Context, w io.Writer) error {
	if d.folderShared() {
		err := d.fifoDump(ctx, w)
		if !d.noSharedFolder(err) {
			return err
		}
	}
	d.transport = viaExec
	return d.execDump(ctx, w)
}

// Load runs psql in a sidecar container reading r, through the same path
// as Dump.
func (d *Docker) Load(ctx context.Context, db string, r io.Reader) (Tags, error) {
	if d.folderShared() {
		tags, err := d.fifoLoad(ctx, db, r)
		if !d.noSharedFolder(err) {
			return tags, err
		}
	}
	d.transport = viaExec
	return d.execLoad(ctx, db, r)
}

// Transport says how the last Dump or Load moved its data.
func (d *Docker) Transport() string { return d.transport }

const (
	viaFIFO = "a FIFO in a folder shared with the engine"
	viaExec = "the Docker engine's exec stream"
)

// unshared holds the addresses of the engines seen not to share this
// machine's folders, so that only the first transfer of a run pays for
// finding out.
var unshared sync.Map

// DataPathEnv picks the data path: "stream" skips the FIFO handshake (an
// engine known not to share this machine's folders), anything else lets
// the handshake decide.
const DataPathEnv = "STEVEDORE_DATA_PATH"

func (d *Docker) folderShared() bool {
	if os.Getenv(DataPathEnv) == "stream" {
		return false
	}
	_, no := unshared.Load(d.eng.DaemonHost())
	return !no
}

// noSharedFolder reports whether err says the FIFO path cannot work with
// this engine, and remembers it.
func (d *Docker) noSharedFolder(err error) bool {
	if !errors.Is(err, errNoSharedFolder) {
		d.transport = viaFIFO
		return false
	}
	unshared.Store(d.eng.DaemonHost(), true)
	return true
}

// errNoSharedFolder says the engine does not see this machine's folders, so
// the FIFO path cannot work; nothing was transferred.
var errNoSharedFolder = errors.New("the engine does not share this machine's folders")

// lastLine returns the last line of s with words, trimmed.
func lastLine(s string) string {
	var t proc.Tail
	_, _ = t.Write([]byte(s))
	return t.LastLine()
}
