package engine

import "strings"

// UnreachableError says the engine did not answer, where it was looked for and why.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	reason := e.Err.Error()
	if !strings.Contains(reason, e.Host) {
		reason = e.Host + ": " + reason
	}
	return "Docker engine not reachable (" + reason + "); start it, then check with `docker info`"
}

// Next is the command that tells whether the engine is back.
func (e *UnreachableError) Next() string { return "docker info" }

func (e *UnreachableError) Unwrap() error { return e.Err }
