package diag

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

func checkDisk(dir string) Check {
	ch := Check{ID: "disk", Group: "machine"}
	path := dir
	for {
		if _, err := os.Stat(path); err == nil || path == filepath.Dir(path) {
			break
		}
		path = filepath.Dir(path)
	}
	free, err := freeBytes(path)
	if err != nil {
		ch.Status, ch.Summary = Warn, fmt.Sprintf("free disk for %s unknown: %v", dir, err)
		return ch
	}
	ch.Details = map[string]string{"free_bytes": strconv.FormatInt(free, 10), "path": path}
	ch.Summary = fmt.Sprintf("%.1f GB free where backups go (%s)", float64(free)/1e9, dir)
	switch {
	case free < 100e6:
		ch.Status, ch.Next = Fail, "go tool mage db:prune -keep=3"
	case free < 1e9:
		ch.Status, ch.Next = Warn, "go tool mage db:prune -keep=5"
	default:
		ch.Status = OK
	}
	return ch
}
