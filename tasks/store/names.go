// Package store is the backup folder: what a backup is called, the record
// that makes a file a backup, atomic writes, the folder's lock, and the list
// of what it holds (the old scripts' files included).
package store

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// MaxNameLen bounds a backup's name; file systems allow 255 bytes for the
// whole file name, which also carries the extension and temporary suffixes.
const MaxNameLen = 100

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateName accepts a backup name a user typed: letters, digits, '.', '_'
// and '-', starting with a letter or digit; no path separators, traversal,
// control or shell-special characters; at most MaxNameLen characters.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("backup name is empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("backup name is %d characters long; the limit is %d", len(name), MaxNameLen)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("backup name %q holds a path separator; give a plain name such as before_migration", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("backup name %q holds '..'; give a plain name such as before_migration", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("backup name %q holds a control character", name)
	case !namePattern.MatchString(name):
		return fmt.Errorf("backup name %q may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit", name)
	case strings.Contains(name, partialTag):
		return fmt.Errorf("backup name %q holds %q, which marks the temporary file of an unfinished backup; choose another", name, partialTag)
	}
	for _, ext := range []string{dataExt, recordExt, ".sql", ".gz", ".zip"} {
		if strings.HasSuffix(name, ext) {
			return fmt.Errorf("backup name %q ends in %s; give the name without an extension", name, ext)
		}
	}
	return nil
}

// DefaultName names a backup by when it was taken, as the old scripts did:
// backup_YYYYMMDD_HHMMSS (local time, what a user reads).
func DefaultName(prefix string, t time.Time) string {
	return prefix + "_" + t.Format("20060102_150405")
}

var stampPattern = regexp.MustCompile(`(\d{8}_\d{6})`)

// TimeFromName reads the time a backup named by DefaultName (or by the old
// scripts) was taken, in local time.
func TimeFromName(name string) (time.Time, bool) {
	m := stampPattern.FindString(name)
	if m == "" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("20060102_150405", m, time.Local)
	return t, err == nil
}
