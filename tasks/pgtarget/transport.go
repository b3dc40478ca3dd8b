package pgtarget

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
)

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
