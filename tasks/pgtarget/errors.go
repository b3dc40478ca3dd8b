package pgtarget

// UnavailableError says where the database should be (a container, a pod,
// a cluster) cannot be used, and the command that shows or fixes it.
type UnavailableError struct {
	Msg, NextCmd string
}

func (e *UnavailableError) Error() string { return e.Msg }

// Next is the command that shows or fixes it.
func (e *UnavailableError) Next() string { return e.NextCmd }
