package images

import "fmt"

// MissingImageError says an image a service needs is neither present nor
// pullable, and stevedore has no recipe for it.
type MissingImageError struct {
	Ref, Service string
	Err          error
}

func (e *MissingImageError) Error() string {
	return fmt.Sprintf("image %s (service %s) is not on this machine and no registry gave it (%v): `docker load` it, or give the service a build: section", e.Ref, e.Service, e.Err)
}

// Next shows the images there are.
func (e *MissingImageError) Next() string { return "docker image ls" }
