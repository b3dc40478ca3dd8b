package pgtarget

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/proc"
)

const (
	// LabelSidecar marks the short-lived containers that run pg_dump and psql.
	LabelSidecar = "dev.stevedore.sidecar"
	// labelOwner names the process that started a sidecar: host and pid.
	labelOwner = "dev.stevedore.owner"
)

// Docker is a database in a running Docker container.
type Docker struct {
	eng   *engine.Engine
	id    string
	name  string
	image string
	creds Credentials
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
	d := &Docker{eng: eng, id: c.ID, name: name, image: c.Image, creds: creds}
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

// Dump runs pg_dump in a sidecar container and copies its output into w.
func (d *Docker) Dump(ctx context.Context, w io.Writer) error {
	return d.sidecar(ctx, "dump", DumpArgs(d.creds, "/io/stream"), nil, func(fifo string, exited <-chan struct{}) error {
		f, err := openFIFO(ctx, fifo, os.O_RDONLY, exited)
		if err != nil {
			return err
		}
		defer f.Close() // closing the read end stops pg_dump if w failed
		return copyChunks(w, f)
	}, nil)
}

// Load runs psql in a sidecar container reading r.
func (d *Docker) Load(ctx context.Context, db string, r io.Reader) (Tags, error) {
	var tags Tags
	err := d.sidecar(ctx, "load", LoadArgs(d.creds, db, "/io/stream"), []string{"PGOPTIONS=" + LoadSessionOptions},
		func(fifo string, exited <-chan struct{}) error {
			f, err := openFIFO(ctx, fifo, os.O_WRONLY, exited)
			if err != nil {
				return err
			}
			err = copyChunks(f, r)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if errors.Is(err, syscall.EPIPE) {
				return nil // psql stopped reading; its exit status says why
			}
			return err
		},
		func(stdout *os.File) (err error) {
			tags, err = ReadTags(stdout)
			return err
		})
	return tags, err
}

// sidecar runs args in a new container from the database's own image that
// shares the database container's network (so 127.0.0.1 is the server) and
// exchanges data with this process through a FIFO in a private folder;
// afterwards, readStdout (if set) reads what the program printed. The
// FIFO moves data at pipe speed; a Docker exec stream is several times
// slower (environment.md measured 30 to 50 MB/s). The container removes
// itself when it exits, also when this process is killed.
func (d *Docker) sidecar(ctx context.Context, role string, args, env []string,
	transfer func(fifo string, exited <-chan struct{}) error, readStdout func(*os.File) error) error {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", ioDirPrefix, os.Getpid()))
	if err != nil {
		return fmt.Errorf("make an exchange folder: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "pgpass"), []byte(PgpassLine(d.creds)), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	fifo := filepath.Join(dir, "stream")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return fmt.Errorf("make FIFO: %w", err)
	}

	created, err := d.eng.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: d.image,
			// stderr to a file the host reads after exit: the container is
			// gone by then (AutoRemove), and so are its logs.
			Entrypoint: []string{"sh", "-c", `exec "$@" >/io/stdout 2>/io/stderr`, "sh"},
			Cmd:        args,
			User:       fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
			Env:        append([]string{"PGPASSFILE=/io/pgpass", "PGCONNECT_TIMEOUT=10", "PGAPPNAME=" + AppName()}, env...),
			Labels:     map[string]string{LabelSidecar: role, labelOwner: owner()},
		},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode("container:" + d.id),
			Binds:       []string{dir + ":/io"},
			AutoRemove:  true,
		},
	})
	if err != nil {
		return d.containerErr(ctx, fmt.Errorf("create %s sidecar for %s: %w", role, d.name, err))
	}
	// Wait is set up before start, or an AutoRemove container could be gone
	// before we ask for its exit status.
	waitCtx, stopWait := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWait()
	wait := d.eng.ContainerWait(waitCtx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
	if _, err := d.eng.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		d.remove(created.ID)
		return d.containerErr(ctx, fmt.Errorf("start %s sidecar for %s: %w", role, d.name, err))
	}

	// Ctrl-C (or any end of ctx) removes the container at once: that closes
	// the FIFO's other end, so a transfer in progress returns.
	stopOnCancel := context.AfterFunc(ctx, func() { d.remove(created.ID) })
	defer stopOnCancel()

	exited := make(chan struct{})
	var status int64 = -1
	var waitErr error
	go func() {
		defer close(exited)
		select {
		case r := <-wait.Result:
			status = r.StatusCode
			if r.Error != nil && r.Error.Message != "" {
				waitErr = errors.New(r.Error.Message)
			}
		case err := <-wait.Error:
			waitErr = err
		}
	}()

	transferErr := transfer(fifo, exited)
	if transferErr != nil || ctx.Err() != nil {
		d.remove(created.ID) // stop the client program at once
	}
	// The transfer is over, but the program may work on for as long as the
	// data needs (psql building indexes after the last row): it is done when
	// it exits. Ctrl-C still removes the container at once (above).
	<-exited
	if ctx.Err() != nil {
		return ctx.Err()
	}
	stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	switch {
	case transferErr != nil && !errors.Is(transferErr, errPeerGone):
		return transferErr // the cause: the client program only saw a broken pipe
	case status != 0 && status != -1:
		return d.containerErr(ctx, ParseExit(args[0], int(status), string(stderr)))
	case transferErr != nil:
		return transferErr
	case waitErr != nil:
		return fmt.Errorf("wait for %s sidecar: %w", role, waitErr)
	case readStdout != nil:
		f, err := os.Open(filepath.Join(dir, "stdout"))
		if err != nil {
			return fmt.Errorf("read the output of %s: %w", args[0], err)
		}
		defer f.Close()
		return readStdout(f)
	}
	return nil
}

func (d *Docker) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = d.eng.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// openFIFO opens one end of a FIFO. Opening blocks until the other end is
// opened; if the container exits (or ctx ends) first, the other end is
// opened here so the open returns, and an error says the peer never came.
func openFIFO(ctx context.Context, path string, flag int, exited <-chan struct{}) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	opened := make(chan result, 1)
	go func() {
		// Opened blocking, the FIFO stays out of Go's poller: each of the
		// client's small writes is then one read here, not a wake-up, an
		// epoll_wait and a read (a third of the copy's CPU, measured).
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, 0)
		if err != nil {
			opened <- result{nil, &os.PathError{Op: "open", Path: path, Err: err}}
			return
		}
		opened <- result{os.NewFile(uintptr(fd), path), nil}
	}()
	select {
	case r := <-opened:
		if r.f != nil {
			growPipe(r.f)
		}
		return r.f, r.err
	case <-exited:
	case <-ctx.Done():
	}
	other := os.O_RDONLY | syscall.O_NONBLOCK
	if flag == os.O_RDONLY {
		other = os.O_WRONLY | syscall.O_NONBLOCK
	}
	if f, err := os.OpenFile(path, other, 0); err == nil {
		defer f.Close()
	}
	if r := <-opened; r.f != nil {
		r.f.Close()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, errPeerGone
}

// pipeChunk is the size of the FIFO's buffer and of each copy through it.
const pipeChunk = 1 << 20

// copyChunks copies src to dst a pipe's buffer at a time. Both are hidden
// behind plain interfaces: *os.File's own WriteTo and ReadFrom would copy
// 32 KiB at a time.
func copyChunks(dst io.Writer, src io.Reader) error {
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, pipeChunk))
	return err
}

// errPeerGone says the client program exited without opening its end of the
// FIFO: its exit status and stderr say why.
var errPeerGone = errors.New("the client program exited before opening its stream")

// lastLine returns the last line of s with words, trimmed.
func lastLine(s string) string {
	var t proc.Tail
	_, _ = t.Write([]byte(s))
	return t.LastLine()
}

// ioDirPrefix starts the name of a sidecar's exchange folder, followed by
// the pid of the process that made it.
const ioDirPrefix = "stevedore-io-"

func owner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// alive reports whether process pid exists on this machine.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
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

func parseOwner(label string) (host string, pid int, ok bool) {
	i := strings.LastIndexByte(label, ':')
	if i < 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(label[i+1:])
	return label[:i], pid, err == nil
}
