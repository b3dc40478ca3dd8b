package pgtarget

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks for a 1 MiB pipe buffer (the default is 64 KiB): the
// sidecar and this process then hand each other the stream in far fewer
// wake-ups. It is only a speed-up, so a refusal is ignored.
func growPipe(f *os.File) {
	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, pipeChunk)
}
