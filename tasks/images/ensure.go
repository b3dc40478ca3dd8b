package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Outcome is what Ensure had to do for an image.
type Outcome string

const (
	Present Outcome = "present"
	Pulled  Outcome = "pulled"
	Built   Outcome = "built"
	Tagged  Outcome = "tagged from a recipe's image"
)

// Result reports one image made ready.
type Result struct {
	Ref     string
	Outcome Outcome
	Took    time.Duration
}

// Ensurer makes images ready on one engine.
type Ensurer struct {
	eng     *engine.Engine
	out     *term.Printer
	recipes fs.FS
}

// NewEnsurer returns an Ensurer that builds from recipes (compose.Images in
// production) and reports on out.
func NewEnsurer(eng *engine.Engine, out *term.Printer, recipes fs.FS) *Ensurer {
	return &Ensurer{eng: eng, out: out, recipes: recipes}
}

// EnsureAll makes every image of All ready on the engine named by the
// environment, reporting each on out.
func EnsureAll(ctx context.Context, out *term.Printer, recipes fs.FS, mode Mode) ([]Result, error) {
	eng, err := engine.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	ensurer := NewEnsurer(eng, out, recipes)
	var results []Result
	for _, img := range All() {
		r, err := ensurer.Ensure(ctx, img, mode)
		if err != nil {
			return results, err
		}
		if r.Outcome == Present {
			out.OK("%s: present", r.Ref)
		} else {
			out.OK("%s: %s in %s", r.Ref, r.Outcome, term.Duration(r.Took))
		}
		results = append(results, r)
	}
	return results, nil
}

// Ensure makes img present: kept when present (and, in mode IfChanged,
// current), pulled when missing, built locally when the pull fails. Images
// of this project's own programs are never pulled: they are built.
func (e *Ensurer) Ensure(ctx context.Context, img Image, mode Mode) (Result, error) {
	start := time.Now()
	labels, found, err := e.labels(ctx, img.Ref)
	if err != nil {
		return Result{}, err
	}
	if found && mode == IfMissing {
		return Result{Ref: img.Ref, Outcome: Present}, nil
	}
	digest, err := RecipeDigest(e.recipes, img)
	if err != nil {
		return Result{}, fmt.Errorf("read recipe of %s: %w", img.Ref, err)
	}
	var files []contextFile
	if img.Program != "" {
		dir, err := os.MkdirTemp("", "stevedore-build-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(dir)
		program, err := e.goBuild(ctx, img, dir)
		if err != nil {
			return Result{}, err
		}
		if digest, err = withFile(digest, program); err != nil {
			return Result{}, err
		}
		files = []contextFile{{name: img.Recipe, path: program, mode: 0o755}}
	}
	switch {
	case found && mode == Always && img.Program != "":
		e.out.Step("%s: rebuilding, as asked", img.Ref)
	case found && labels[LabelBuiltBy] != "" && labels[LabelRecipe] != digest:
		e.out.Step("%s: its recipe or program changed since it was built; rebuilding", img.Ref)
	case found:
		return Result{Ref: img.Ref, Outcome: Present}, nil
	case img.Program != "":
		e.out.Step("%s: building %s", img.Ref, img.Program)
	default:
		pullErr := e.pull(ctx, img.Ref)
		if pullErr == nil {
			return Result{Ref: img.Ref, Outcome: Pulled, Took: time.Since(start)}, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		e.out.Step("%s: not present and the pull failed, so building a local equivalent from compose/images/%s", img.Ref, img.Recipe)
		e.out.Detail("pull: %v", pullErr)
	}
	if img.Base.Ref != "" {
		if err := e.ensureBase(ctx, img.Base); err != nil {
			return Result{}, err
		}
	}
	if err := e.build(ctx, img, digest, files); err != nil {
		return Result{}, err
	}
	return Result{Ref: img.Ref, Outcome: Built, Took: time.Since(start)}, nil
}

// goBuild builds img's program as a static Linux binary in dir.
func (e *Ensurer) goBuild(ctx context.Context, img Image, dir string) (string, error) {
	out := filepath.Join(dir, img.Recipe)
	cmd := []string{"env", "CGO_ENABLED=0", "GOOS=linux", "go", "build", "-trimpath", "-o", out, img.Program}
	if err := proc.Run(ctx, e.out, cmd...); err != nil {
		return "", fmt.Errorf("build %s: %w", img.Program, err)
	}
	return out, nil
}

// withFile extends digest with the contents of a file.
func withFile(digest, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	h.Write([]byte(digest))
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EnsureService makes the image a service runs present: kept when present,
// else pulled, else built from a recipe of stevedore's (any postgres:15
// variant gets the PostgreSQL recipe, tagged with the name the service
// asks for). An image of stevedore's own programs is rebuilt in mode Always.
func (e *Ensurer) EnsureService(ctx context.Context, service, ref string, mode Mode) (Result, error) {
	img, hasRecipe := RecipeFor(ref)
	if hasRecipe && img.Ref == ref {
		return e.Ensure(ctx, img, mode)
	}
	start := time.Now()
	if _, found, err := e.labels(ctx, ref); err != nil || found {
		return Result{Ref: ref, Outcome: Present}, err
	}
	pullErr := e.pull(ctx, ref)
	if pullErr == nil {
		return Result{Ref: ref, Outcome: Pulled, Took: time.Since(start)}, nil
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if !hasRecipe {
		return Result{}, &MissingImageError{Ref: ref, Service: service, Err: pullErr}
	}
	e.out.Step("%s: not present and the pull failed, so making it from %s", ref, img.Ref)
	e.out.Detail("pull: %v", pullErr)
	if _, err := e.Ensure(ctx, img, IfMissing); err != nil {
		return Result{}, err
	}
	if _, err := e.eng.ImageTag(ctx, client.ImageTagOptions{Source: img.Ref, Target: ref}); err != nil {
		return Result{}, fmt.Errorf("tag %s as %s: %w", img.Ref, ref, err)
	}
	return Result{Ref: ref, Outcome: Tagged, Took: time.Since(start)}, nil
}

// labels returns the labels of ref and whether it is present.
func (e *Ensurer) labels(ctx context.Context, ref string) (map[string]string, bool, error) {
	res, err := e.eng.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	if res.Config == nil {
		return nil, true, nil
	}
	return res.Config.Labels, true, nil
}

func (e *Ensurer) pull(ctx context.Context, ref string) error {
	resp, err := e.eng.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

func (e *Ensurer) ensureBase(ctx context.Context, base Base) error {
	digest := BaseDigest(base)
	labels, found, err := e.labels(ctx, base.Ref)
	switch {
	case err != nil:
		return err
	case found && (labels[LabelBuiltBy] == "" || labels[LabelRecipe] == digest):
		return nil // someone else's image of that name, or ours and current
	case found:
		e.out.Step("%s: its definition changed since it was made; making it again", base.Ref)
	}
	start := time.Now()
	if err := ensureDebootstrap(ctx, e.out); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "stevedore-rootfs-")
	if err != nil {
		return fmt.Errorf("make a folder for the root filesystem: %w", err)
	}
	defer os.RemoveAll(dir)
	// The image's / gets this folder's mode: MkdirTemp's 0700 would keep
	// every user but root out of the whole image on a storage driver that
	// keeps it (vfs does; overlay hides it).
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("open up the root filesystem's folder: %w", err)
	}

	e.out.Step("%s: debootstrap %s with %v (about 1.5 minutes)", base.Ref, base.Suite, base.Packages)
	args := DebootstrapArgs(base, dir)
	if err := proc.Run(ctx, e.out, args...); err != nil {
		return fmt.Errorf("debootstrap for %s: %w (run with -v to see its output)", base.Ref, err)
	}
	for _, p := range base.Prune {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return fmt.Errorf("prune %s from the root filesystem: %w", p, err)
		}
	}
	if err := e.importRootfs(ctx, dir, base.Ref, digest); err != nil {
		return err
	}
	e.out.OK("%s: imported in %s", base.Ref, term.Duration(time.Since(start)))
	return nil
}

// importRootfs streams dir as a tar archive into the engine as image ref,
// labelled with the digest of its definition.
func (e *Ensurer) importRootfs(ctx context.Context, dir, ref, digest string) error {
	// GNU tar keeps ownership, device nodes and hard links exactly as
	// debootstrap left them; it streams, so the rootfs is never in memory.
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", dir, "-c", ".")
	var tarErr bytes.Buffer
	tarCmd.Stderr = &tarErr
	stream, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("start tar: %w", err)
	}
	resp, err := e.eng.ImageImport(ctx, client.ImageImportSource{Source: stream, SourceName: "-"}, ref,
		client.ImageImportOptions{Message: "debootstrap root filesystem imported by " + builtBy, Changes: []string{
			fmt.Sprintf("LABEL %s=%q", LabelBuiltBy, builtBy), fmt.Sprintf("LABEL %s=%s", LabelRecipe, digest),
		}})
	if err == nil {
		err = readMessages(resp, e.out.DetailWriter())
		resp.Close()
	}
	_, _ = io.Copy(io.Discard, stream) // let tar finish if the engine stopped reading
	if waitErr := tarCmd.Wait(); waitErr != nil && err == nil {
		err = fmt.Errorf("tar %s: %w: %s", dir, waitErr, tarErr.String())
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	return nil
}

func (e *Ensurer) build(ctx context.Context, img Image, digest string, files []contextFile) error {
	start := time.Now()
	// The context streams: an image of big programs (kubectl) is never
	// held in memory whole.
	buildContext, pw := io.Pipe()
	go func() {
		err := writeContext(pw, e.recipes, path.Join("images", img.Recipe), files)
		if err != nil {
			err = fmt.Errorf("pack recipe %s: %w", img.Recipe, err)
		}
		pw.CloseWithError(err)
	}()
	defer buildContext.Close() // ends the writer if the engine stopped reading
	e.out.Detail("%s: building from compose/images/%s", img.Ref, img.Recipe)
	resp, err := e.eng.ImageBuild(ctx, buildContext, client.ImageBuildOptions{
		Tags:        []string{img.Ref},
		Labels:      map[string]string{LabelBuiltBy: builtBy, LabelRecipe: digest},
		Remove:      true,
		ForceRemove: true,
		// The classic builder needs no BuildKit and no buildx on the engine.
		Version: build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", img.Ref, err)
	}
	defer resp.Body.Close()
	if err := readMessages(resp.Body, e.out.DetailWriter()); err != nil {
		return fmt.Errorf("build %s: %w (run with -v to see the build)", img.Ref, err)
	}
	e.out.Detail("%s: built in %s", img.Ref, term.Duration(time.Since(start)))
	return nil
}

// readMessages drains an engine JSON message stream, copying its text to
// detail and returning the first error it reports.
func readMessages(r io.Reader, detail io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			jsonstream.Message
			ErrorText string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read engine messages: %w", err)
		}
		switch {
		case m.Error != nil:
			return errors.New(m.Error.Message)
		case m.ErrorText != "":
			return errors.New(m.ErrorText)
		case m.Stream != "":
			io.WriteString(detail, m.Stream)
		case m.Status != "":
			fmt.Fprintln(detail, m.Status)
		}
	}
}

// contextFile is what a build context holds besides the recipe: a file of
// the host (path), or an empty folder (dir), under name with mode.
type contextFile struct {
	name, path string
	dir        bool
	mode       int64
}

// writeContext writes the files under root of fsys, relative to root, as a
// tar build context, then files. Embedded files carry no mode, so recipes
// set modes themselves; files keep the mode given, since a FROM scratch
// image has no chmod.
func writeContext(w io.Writer, fsys fs.FS, root string, files []contextFile) error {
	tw := tar.NewWriter(w)
	err := eachRecipeFile(fsys, root, func(p string, data []byte) error {
		rel := p[len(root)+1:]
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := addFile(tw, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, f contextFile) error {
	if f.dir {
		return tw.WriteHeader(&tar.Header{Name: f.name + "/", Typeflag: tar.TypeDir, Mode: f.mode})
	}
	in, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: st.Size()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, in); err != nil {
		return fmt.Errorf("pack %s: %w", f.path, err)
	}
	return nil
}
