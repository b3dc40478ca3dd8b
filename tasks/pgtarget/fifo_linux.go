package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The FIFO path: the client program in the sidecar reads or writes a FIFO
// in a private folder bind-mounted from this machine, moving data at pipe
// speed (an engine's stream is slower: the bench measures the FIFO at 0.70x
// and the exec stream at 0.85x of docker exec pg_dump > file). It works
// only when the engine sees this machine's folders, so a handshake through
// a second FIFO proves that first.

// fifoScript checks the handshake FIFO, answers through it, then runs the
// program with its output in files the host reads after exit (the
// container is gone by then, and so are its logs).
const fifoScript = `[ -p /io/hello ] || exit 97
echo ok > /io/hello || exit 97
exec "$@" >/io/stdout 2>/io/stderr`

// helloTimeout bounds the handshake: a started container answers in
// milliseconds, so a silence this long means the FIFO is not shared.
const helloTimeout = 10 * time.Second

func (d *Docker) fifoDump(ctx context.Context, w io.Writer) error {
	return d.fifoRun(ctx, "dump", DumpArgs(d.creds, "/io/stream"), nil, func(fifo string, exited <-chan struct{}) error {
		f, err := openFIFO(ctx, fifo, os.O_RDONLY, exited)
		if err != nil {
			return err
		}
		defer f.Close() // closing the read end stops pg_dump if w failed
		return copyChunks(w, f)
	}, nil)
}

func (d *Docker) fifoLoad(ctx context.Context, db string, r io.Reader) (Tags, error) {
	var tags Tags
	err := d.fifoRun(ctx, "load", LoadArgs(d.creds, db, "/io/stream"), []string{"PGOPTIONS=" + LoadSessionOptions},
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

// fifoRun runs args in a sidecar that exchanges data with this process
// through a FIFO in a private folder; afterwards, readStdout (if set)
// reads what the program printed. It returns errNoSharedFolder, having
// touched no data, when the engine does not see the folder.
func (d *Docker) fifoRun(ctx context.Context, role string, args, env []string,
	transfer func(fifo string, exited <-chan struct{}) error, readStdout func(*os.File) error) error {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", ioDirPrefix, os.Getpid()))
	if err != nil {
		return fmt.Errorf("make an exchange folder: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "pgpass"), []byte(PgpassLine(d.creds)), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	fifo, hello := filepath.Join(dir, "stream"), filepath.Join(dir, "hello")
	for _, p := range []string{fifo, hello} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			return fmt.Errorf("make FIFO: %w", err)
		}
	}
	spec := sidecarSpec{
		role:  role,
		cmd:   append([]string{"sh", "-c", fifoScript, "sh"}, args...),
		user:  fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
		env:   append([]string{"PGPASSFILE=/io/pgpass", "PGCONNECT_TIMEOUT=10", "PGAPPNAME=" + AppName()}, env...),
		binds: []string{dir + ":/io"},
	}
	sc, err := d.runSidecar(ctx, spec, func(sc *sidecar) error {
		if err := handshake(ctx, hello, sc.exited); err != nil {
			return err
		}
		return transfer(fifo, sc.exited)
	})
	if sc == nil || errors.Is(err, errNoSharedFolder) {
		return err
	}
	stderr, _ := os.ReadFile(filepath.Join(dir, "stderr"))
	switch {
	case err != nil && !errors.Is(err, errPeerGone):
		return err // the cause: the client program only saw a broken pipe
	case sc.status != 0 && sc.status != -1:
		return d.containerErr(ctx, ParseExit(args[0], int(sc.status), string(stderr)))
	case err != nil:
		return err
	case sc.err != nil:
		return fmt.Errorf("wait for %s sidecar: %w", role, sc.err)
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

// handshake reads the sidecar's answer through the hello FIFO: proof that
// the engine sees this folder and connects its FIFOs to ours.
func handshake(ctx context.Context, hello string, exited <-chan struct{}) error {
	helloCtx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	f, err := openFIFO(helloCtx, hello, os.O_RDONLY, exited)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errNoSharedFolder
	}
	defer f.Close()
	answer := make([]byte, 3)
	if _, err := io.ReadFull(f, answer); err != nil || string(answer) != "ok\n" {
		return errNoSharedFolder
	}
	return nil
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
			opened <- result{err: &os.PathError{Op: "open", Path: path, Err: err}}
			return
		}
		opened <- result{f: os.NewFile(uintptr(fd), path)}
	}()
	select {
	case r := <-opened:
		if r.f != nil {
			// A 1 MiB pipe buffer (the default is 64 KiB): the sidecar and
			// this process hand each other the stream in far fewer
			// wake-ups. Only a speed-up, so a refusal is ignored.
			_, _ = unix.FcntlInt(r.f.Fd(), unix.F_SETPIPE_SZ, pipeChunk)
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

// pipeChunk is the size of a FIFO's buffer and of each copy through it.
const pipeChunk = 1 << 20

// copyChunks copies src to dst pipeChunk at a time. Both are hidden behind
// plain interfaces: *os.File's own WriteTo and ReadFrom would copy 32 KiB
// at a time.
func copyChunks(dst io.Writer, src io.Reader) error {
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, pipeChunk))
	return err
}

// errPeerGone says the client program exited without opening its end of the
// FIFO: its exit status and stderr say why.
var errPeerGone = errors.New("the client program exited before opening its stream")
