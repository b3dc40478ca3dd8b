// Package engine connects to the Docker Engine API and turns an engine that
// does not answer into one clear error.
package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// pingTimeout bounds how long a dead or absent engine can keep a user waiting.
const pingTimeout = 3 * time.Second

// Engine is a connected Docker engine.
type Engine struct {
	*client.Client
	// Version is the engine's version, e.g. "20.10.24".
	Version string
	// APIVersion is the API version negotiated with it, e.g. "1.41".
	APIVersion string
}

// Connect returns the engine named by DOCKER_HOST (or the platform default)
// after checking that it answers, negotiating the API version with it.
func Connect(ctx context.Context) (*Engine, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := cli.Ping(pingCtx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnreachableError{Host: cli.DaemonHost(), Err: err}
	}
	v, err := cli.ServerVersion(pingCtx, client.ServerVersionOptions{})
	if err != nil {
		_ = cli.Close()
		return nil, &UnreachableError{Host: cli.DaemonHost(), Err: err}
	}
	return &Engine{Client: cli, Version: v.Version, APIVersion: cli.ClientVersion()}, nil
}

// Local reports whether the engine runs on this machine (a Unix socket, a
// Windows named pipe): only then are the ports it publishes this machine's,
// so that checking them here means anything.
func (e *Engine) Local() bool {
	h := e.DaemonHost()
	return strings.HasPrefix(h, "unix://") || strings.HasPrefix(h, "npipe://")
}

// ContainerName is a listed container's name without its leading slash, or
// its short ID when it has no name.
func ContainerName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return c.ID[:min(12, len(c.ID))]
}
