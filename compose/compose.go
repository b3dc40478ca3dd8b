// Package compose holds the bundled stack and the recipes of the images it
// needs, embedded so that a repository importing stevedore's targets builds
// the same images without a checkout of stevedore.
package compose

import "embed"

// Images holds one folder per image recipe (a Dockerfile and its context),
// named images/<name>.
//
//go:embed images
var Images embed.FS
