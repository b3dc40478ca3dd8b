//go:build unix

package tasks_test

import (
	"os"
	"syscall"
)

// peakRSS is a finished process's peak memory, in KiB on Linux.
func peakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}
