// Package images makes sure every image the bundled stack and the tests need
// is on the engine: it keeps an image that is present, pulls one that is
// missing, and when no registry answers builds a local equivalent from Debian
// packages (debootstrap, then an image recipe under compose/images).
package images

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Labels stevedore puts on the images it builds, so that a later run can tell
// its own builds (and their recipe) from images pulled from a registry.
const (
	LabelBuiltBy = "dev.stevedore.built-by"
	LabelRecipe  = "dev.stevedore.recipe-sha256"
	builtBy      = "stevedore images:build"
)

// Base is a root filesystem made by debootstrap and imported as an image, the
// FROM of a recipe on a machine with no registry.
type Base struct {
	Ref      string   // image reference the recipe's FROM names
	Suite    string   // Debian release, e.g. "bookworm"
	Packages []string // installed on top of the minimal base
	// Prune lists paths (relative to the root) removed before import: package
	// caches and the cluster Debian's postinst creates, which the image's
	// entrypoint makes itself.
	Prune []string
}

// Image is one image the stack or the tests need.
type Image struct {
	Ref    string // the reference compose files and tests use
	Recipe string // folder under compose/images built when Ref can be neither found nor pulled
	Base   Base   // for recipes FROM a Debian base; zero for FROM scratch
	// Program, when set, is a Go main package built on the host with
	// CGO_ENABLED=0 into the build context as Recipe's binary: an image of
	// this project's own, never pulled.
	Program string
}

// Mode says when Ensure makes an image that is present.
type Mode int

const (
	// IfMissing keeps every image that is present.
	IfMissing Mode = iota
	// IfChanged rebuilds images stevedore built whose recipe or program changed.
	IfChanged
	// Always rebuilds the images of this project's own programs.
	Always
)

// Postgres is PostgreSQL 15 with the official postgres image's contract.
var Postgres = Image{
	Ref:    "postgres:15-bookworm",
	Recipe: "postgres",
	Base: Base{
		Ref:      "stevedore/debian-postgresql:15-bookworm",
		Suite:    "bookworm",
		Packages: []string{"postgresql-15"},
		Prune: []string{
			"var/cache/apt/archives", "var/lib/apt/lists",
			"var/lib/postgresql/15", "etc/postgresql/15",
			"usr/share/doc", "usr/share/man",
		},
	},
}

// API is the bundled stack's api service.
var API = Image{Ref: "stevedore/api:local", Recipe: "api", Program: "github.com/stevedore-dev/stevedore/compose/api"}

// Dockerd is a Docker engine in a container (Debian's docker.io): the
// tests' engine that does not share this machine's filesystem.
var Dockerd = Image{
	Ref:    "stevedore/dockerd:bookworm",
	Recipe: "dockerd",
	Base: Base{
		Ref:      "stevedore/debian-docker:bookworm",
		Suite:    "bookworm",
		Packages: []string{"docker.io", "iptables", "ca-certificates"},
		Prune:    []string{"var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"},
	},
}

// All is every image the bundled stack and the tests need, in build order.
func All() []Image { return []Image{Postgres, API, Dockerd} }

// RecipeFor is the image stevedore can make for ref: one of All by name,
// or Postgres for any postgres:15 variant (15, 15.8, 15-alpine, ...), whose
// contract (POSTGRES_* variables, initdb scripts, pg_isready) it keeps.
func RecipeFor(ref string) (Image, bool) {
	for _, img := range All() {
		if img.Ref == ref {
			return img, true
		}
	}
	name, tag := splitRef(ref)
	if name == "postgres" || name == "library/postgres" || name == "docker.io/library/postgres" {
		if tag == "15" || strings.HasPrefix(tag, "15.") || strings.HasPrefix(tag, "15-") {
			return Postgres, true
		}
	}
	return Image{}, false
}

// splitRef splits an image reference into its name and tag ("latest" when
// none is given); a digest is left out.
func splitRef(ref string) (name, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	name, tag = ref, "latest"
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	return name, tag
}

// DebootstrapArgs is the debootstrap command line that makes base's root
// filesystem in dir. The mirror is left out so the system's configured Debian
// mirror is used.
func DebootstrapArgs(base Base, dir string) []string {
	args := []string{"debootstrap", "--variant=minbase"}
	if len(base.Packages) > 0 {
		pkgs := append([]string(nil), base.Packages...)
		sort.Strings(pkgs)
		args = append(args, "--include="+strings.Join(pkgs, ","))
	}
	return append(args, base.Suite, dir)
}

// BaseDigest fingerprints a base's definition: a base image labelled with
// another one was made from an older definition and is made again.
func BaseDigest(b Base) string {
	h := sha256.New()
	for _, part := range []string{b.Ref, b.Suite, strings.Join(b.Packages, ","), strings.Join(b.Prune, ","), rootfsFormat} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// rootfsFormat changes when the way a base is made changes, so that bases
// made the old way are made again: "root 0755" fixed the mode of /.
const rootfsFormat = "root 0755"

// RecipeDigest fingerprints what an image is built from: every file of its
// recipe folder and the definition of its base. A built image whose label
// differs is out of date.
func RecipeDigest(recipes fs.FS, img Image) (string, error) {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	write("base", BaseDigest(img.Base), img.Program)
	root := path.Join("images", img.Recipe)
	err := eachRecipeFile(recipes, root, func(p string, data []byte) error {
		write("file", p, string(data))
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// eachRecipeFile calls fn with the path and contents of every file under
// root, in lexical order: what a recipe's digest covers is exactly what
// its build context holds.
func eachRecipeFile(fsys fs.FS, root string, fn func(path string, data []byte) error) error {
	return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return fn(p, data)
	})
}
