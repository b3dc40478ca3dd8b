package pgtarget

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

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

// OpenContainer returns the database in the running container ref (a name or
// an ID), reading its credentials from the container's own environment.
func OpenContainer(ctx context.Context, eng *engine.Engine, ref string) (*Docker, error) {
	res, err := eng.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, &UnavailableError{Msg: fmt.Sprintf("no container named %q on this Docker engine", ref), NextCmd: "docker ps"}
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
		return nil, &UnavailableError{Msg: fmt.Sprintf("database container %s is not running (%s)", name, state), NextCmd: "docker start " + name}
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
// an UnavailableError.
func (d *Docker) containerErr(ctx context.Context, err error) error {
	res, ierr := d.eng.ContainerInspect(context.WithoutCancel(ctx), d.id, client.ContainerInspectOptions{})
	if ierr == nil && res.Container.State != nil && !res.Container.State.Running {
		return &UnavailableError{Msg: fmt.Sprintf("database container %s stopped", d.name), NextCmd: "docker start " + d.name}
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
