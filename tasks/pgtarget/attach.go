package pgtarget

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/proc"
)

// readPassword takes the password from the first line of standard input:
// never on a command line or in the container's configuration.
const readPassword = `IFS= read -r PGPASSWORD || exit 1
export PGPASSWORD
`

// attachRun runs script in a sidecar whose standard streams go through the
// engine's attach API: the path for an engine that does not share this
// machine's folders (Docker Desktop, a remote or rootless engine, Podman).
// It is a runScript for the stream protocol.
func (d *Docker) attachRun(ctx context.Context, stdin io.Reader, stdout io.Writer, script string, args ...string) (string, error) {
	stderr := &proc.Tail{}
	spec := sidecarSpec{
		role: args[0],
		cmd:  append([]string{"sh", "-c", readPassword + script, "sh"}, args...),
		// Empty, so that an image that sets them cannot change the password read above.
		env:    []string{"POSTGRES_PASSWORD=", "POSTGRES_PASSWORD_FILE=", "PGCONNECT_TIMEOUT=10", "PGAPPNAME=" + AppName()},
		attach: true,
	}
	_, err := d.runSidecar(ctx, spec, func(sc *sidecar) error {
		readErr := make(chan error, 1)
		go func() { readErr <- feed(sc.stream, d.creds.Password, stdin) }()
		if stdout == nil {
			stdout = io.Discard
		}
		_, err := stdcopy.StdCopy(stdout, stderr, sc.stream.Reader)
		sc.stream.Close() // the program is done: a feeder still writing stops
		select {
		case rerr := <-readErr:
			if rerr != nil {
				return rerr // the cause: the program only saw its input end
			}
		case <-ctx.Done():
			return ctx.Err() // the feeder may be blocked reading stdin
		}
		if err != nil {
			return fmt.Errorf("%s stream of %s: %w", viaAttach, args[0], err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return stderr.String(), nil
}

// feed writes the password line, then stdin, to the program's standard
// input, and closes it. It returns only an error in reading stdin: a write
// error means the program stopped reading, and its report says why.
func feed(stream client.HijackedResponse, password string, stdin io.Reader) error {
	defer stream.CloseWrite()
	if _, err := io.WriteString(stream.Conn, password+"\n"); err != nil || stdin == nil {
		return nil
	}
	src := &recordingReader{r: stdin}
	_ = copyChunks(stream.Conn, src)
	return src.err
}

// recordingReader keeps the error of the reader it wraps, so that a failure
// on this side is told apart from the far side hanging up.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}
