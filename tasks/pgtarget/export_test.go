package pgtarget

import "github.com/stevedore-dev/stevedore/tasks/engine"

// NotShared makes the next transfers on eng take the exec stream, as on an
// engine that does not see this machine's folders; undo restores the probe.
func NotShared(eng *engine.Engine) (undo func()) {
	unshared.Store(eng.DaemonHost(), true)
	return func() { unshared.Delete(eng.DaemonHost()) }
}

const (
	ViaFIFO = viaFIFO
	ViaExec = viaExec
)
