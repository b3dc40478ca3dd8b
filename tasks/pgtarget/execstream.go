package pgtarget

import (
	"context"
	"fmt"
	"io"

	"github.com/stevedore-dev/stevedore/tasks/proc"
)

// The stream path, for an engine that does not share this machine's
// folders (Docker Desktop, a remote or rootless engine, Podman): the
// sidecar idles, and the client program runs in it through the engine's
// exec stream, which was measured twice as fast as a container's attach
// stream. The sidecar's idle process reads its attached standard input, so
// when this process ends, however it ends, the sidecar exits and removes
// itself.

// execDump runs pg_dump in a sidecar through the exec stream into w. Its
// exit status says whether it wrote everything; a stream cut short on the
// way fails the dump's trailer check.
func (d *Docker) execDump(ctx context.Context, w io.Writer) error {
	return d.execSidecar(ctx, "dump", DumpArgs(d.creds, "/dev/stdout"), nil, nil, w)
}

// execLoad runs psql in a sidecar through the exec stream on r, with the
// stream protocol's count of what psql was given.
func (d *Docker) execLoad(ctx context.Context, db string, r io.Reader) (Tags, error) {
	return streamLoad(ctx, func(ctx context.Context, stdin io.Reader, stdout io.Writer, script string, args ...string) (string, error) {
		stderr := &proc.Tail{}
		err := d.execSidecar(ctx, "load", append([]string{"sh", "-c", script, "sh"}, args...), stdin, stderr, stdout)
		return stderr.String(), err
	}, d.creds, db, r, viaExec)
}

// execSidecar runs args in a new idle sidecar through the exec stream. With
// stderr nil, a non-zero exit is the error, read from what it printed.
func (d *Docker) execSidecar(ctx context.Context, role string, args []string, stdin io.Reader, stderr, stdout io.Writer) error {
	spec := sidecarSpec{role: role, cmd: []string{"cat"}, attach: true,
		// Empty, so that an image that sets them cannot change the password.
		env: []string{"POSTGRES_PASSWORD=", "POSTGRES_PASSWORD_FILE=", "PGCONNECT_TIMEOUT=10"}}
	_, err := d.runSidecar(ctx, spec, func(sc *sidecar) error {
		defer sc.stream.Close() // the idle process reads its end: the sidecar goes
		tail := &proc.Tail{}
		errOut := io.Writer(tail)
		if stderr != nil {
			errOut = io.MultiWriter(stderr, tail)
		}
		code, err := d.eng.ExecStream(ctx, sc.id, args, d.env(), stdin, stdout, errOut)
		switch {
		case err != nil:
			return fmt.Errorf("%s of %s: %w", viaExec, args[0], err)
		case code != 0 && stderr == nil:
			return d.containerErr(ctx, ParseExit(args[0], code, tail.String()))
		}
		return nil
	})
	return err
}
