package pgtarget

import "fmt"

// UnavailableError says where the database should be (a container, a pod,
// a cluster) cannot be used, and the command that shows or fixes it.
type UnavailableError struct {
	Msg, NextCmd string
}

func (e *UnavailableError) Error() string { return e.Msg }

// Next is the command that shows or fixes it.
func (e *UnavailableError) Next() string { return e.NextCmd }

// NoRoleError says the settings name a role the database volume lacks.
type NoRoleError struct{ Role string }

func (e *NoRoleError) Error() string {
	return fmt.Sprintf("the database volume has no role %q: it was made with other settings", e.Role)
}

// TruncatedError says a stream did not arrive whole.
type TruncatedError struct {
	Via       string // what carried it: "kubectl exec", "the Docker engine's exec stream"
	Got, Sent int64
	Cause     error // the broken connection, when that is what cut it
}

func (e *TruncatedError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("the stream through %s broke after %d bytes: %v", e.Via, e.Got, e.Cause)
	}
	if e.Sent < 0 {
		return fmt.Sprintf("the stream through %s ended after %d bytes without the far side's report of what it sent: refused", e.Via, e.Got)
	}
	return fmt.Sprintf("the stream through %s arrived incomplete: %d of %d bytes: refused", e.Via, e.Got, e.Sent)
}

func (e *TruncatedError) Unwrap() error { return e.Cause }

// BrokenStreamError says the connection carrying a stream broke on its way
// ("connection reset by peer" between kubectl and the API server).
type BrokenStreamError struct {
	Msg string
	Err error // how the client program ended
}

func (e *BrokenStreamError) Error() string { return e.Msg }
func (e *BrokenStreamError) Unwrap() error { return e.Err }
