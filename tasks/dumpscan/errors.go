package dumpscan

import "fmt"

// RefusedError says a script holds something a restore of one database must
// not run.
type RefusedError struct {
	Line int64  // 1-based line of the script
	Why  string // what it holds and why that is refused
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("line %d: %s; a restore loads one database, so the file is refused", e.Line, e.Why)
}
