//go:build !linux

package pgtarget

import (
	"context"
	"io"
)

// The FIFO path needs an engine that shares this machine's folders: on
// macOS and Windows the engine runs in a virtual machine (Docker Desktop,
// colima, Podman machine), so data always goes through the exec stream.

func (d *Docker) fifoDump(context.Context, io.Writer) error { return errNoSharedFolder }

func (d *Docker) fifoLoad(context.Context, string, io.Reader) (Tags, error) {
	return Tags{}, errNoSharedFolder
}
