package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Exec runs cmd in a running container, with env added to its
// environment (where secrets go: never on the command line), and returns
// what it printed and its exit code. Ending ctx ends the wait.
func (e *Engine) Exec(ctx context.Context, container string, cmd, env []string) (stdout, stderr string, code int, err error) {
	created, err := e.ExecCreate(ctx, container, client.ExecCreateOptions{Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", "", 0, err
	}
	att, err := e.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return "", "", 0, fmt.Errorf("attach to exec: %w", err)
	}
	defer att.Close()
	// The hijacked connection ignores ctx: close it when ctx ends.
	stop := context.AfterFunc(ctx, att.Close)
	defer stop()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		if ctx.Err() != nil {
			return "", "", 0, ctx.Err()
		}
		return "", "", 0, fmt.Errorf("read exec output: %w", err)
	}
	insp, err := e.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return "", "", 0, fmt.Errorf("exec result: %w", err)
	}
	return out.String(), errOut.String(), insp.ExitCode, nil
}
