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

// KubectlError says why a kubectl cannot go into the CLI image.
type KubectlError struct {
	Problem string // "kubectl /usr/bin/kubectl is dynamically linked (…)"
	GOARCH  string // the architecture the image is built for
}

func (e *KubectlError) Error() string {
	return fmt.Sprintf("%s: the image is FROM scratch, so it needs a static linux/%s kubectl (the official release is one); give it with -kubectl=PATH", e.Problem, e.GOARCH)
}

// Next downloads the official kubectl and builds the image with it.
func (e *KubectlError) Next() string {
	return fmt.Sprintf("curl -fLO https://dl.k8s.io/release/$(curl -fsL https://dl.k8s.io/release/stable.txt)/bin/linux/%s/kubectl && go tool mage images:cli -kubectl=./kubectl", e.GOARCH)
}
