package images

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/proc"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// CLI is the image schedule:kube's CronJob runs: the targets of a checkout
// compiled for Linux, and a static kubectl, FROM scratch. It is made only
// when asked for (MakeCLI): it needs a kubectl, which the stack does not.
var CLI = Image{Ref: "stevedore/cli:local", Recipe: "cli"}

// MakeCLI builds the CLI image ref, on the engine the environment names,
// from the targets of the checkout in the working directory and the
// kubectl at the path given ("": the one on PATH), for this machine's
// architecture. A kubectl that cannot run in an empty image is refused
// before anything is compiled.
func MakeCLI(ctx context.Context, out *term.Printer, recipes fs.FS, ref, kubectl string) (Result, error) {
	kubectl, err := FindKubectl(kubectl, runtime.GOARCH, exec.LookPath)
	if err != nil {
		return Result{}, err
	}
	if err := CheckKubectl(kubectl, runtime.GOARCH); err != nil {
		return Result{}, err
	}
	certs, err := CABundle(os.Getenv("SSL_CERT_FILE"), isFile)
	if err != nil {
		return Result{}, err
	}
	eng, err := engine.Connect(ctx)
	if err != nil {
		return Result{}, err
	}
	defer eng.Close()
	return NewEnsurer(eng, out, recipes).buildCLI(ctx, ref, kubectl, certs)
}

func (e *Ensurer) buildCLI(ctx context.Context, ref, kubectl, certs string) (Result, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "stevedore-cli-")
	if err != nil {
		return Result{}, fmt.Errorf("make a folder for the compiled targets: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "stevedore")
	e.out.Step("%s: compiling this checkout's targets for linux/%s", ref, runtime.GOARCH)
	if err := proc.Run(ctx, e.out, CompileArgs(bin, runtime.GOARCH)...); err != nil {
		return Result{}, fmt.Errorf("compile the targets with mage: %w", err)
	}
	files := []contextFile{
		{name: "stevedore", path: bin, mode: 0o755},
		{name: "kubectl", path: kubectl, mode: 0o755},
		{name: "ca-certificates.crt", path: certs, mode: 0o644},
		{name: "home", dir: true, mode: 0o755},
	}
	img := CLI
	img.Ref = ref
	digest, err := RecipeDigest(e.recipes, img)
	if err != nil {
		return Result{}, fmt.Errorf("read recipe of %s: %w", ref, err)
	}
	for _, f := range files {
		if f.dir {
			continue
		}
		if digest, err = withFile(digest, f.path); err != nil {
			return Result{}, fmt.Errorf("fingerprint %s: %w", f.path, err)
		}
	}
	e.out.Step("%s: building with kubectl %s", ref, kubectl)
	if err := e.build(ctx, img, digest, files); err != nil {
		return Result{}, err
	}
	return Result{Ref: ref, Outcome: Built, Took: time.Since(start)}, nil
}

// CompileArgs is the command that compiles the magefile of the working
// directory into out: a static Linux program (no cgo, mage's -goos, which
// wins over GOOS) for goarch, without symbols, as the image runs it.
func CompileArgs(out, goarch string) []string {
	return []string{"env", "CGO_ENABLED=0", "go", "tool", "mage", "-compile", out, "-goos", "linux", "-goarch", goarch, "-ldflags", "-s -w"}
}

// FindKubectl is the kubectl given, else the one lookPath finds.
func FindKubectl(given, goarch string, lookPath func(string) (string, error)) (string, error) {
	if given != "" {
		return given, nil
	}
	p, err := lookPath("kubectl")
	if err != nil {
		return "", &KubectlError{Problem: "no kubectl on PATH", GOARCH: goarch}
	}
	return p, nil
}

// elfMachines are the ELF machines of the architectures Go builds Linux
// programs for.
var elfMachines = map[string]elf.Machine{
	"386": elf.EM_386, "amd64": elf.EM_X86_64, "arm": elf.EM_ARM, "arm64": elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64, "riscv64": elf.EM_RISCV, "s390x": elf.EM_S390, "loong64": elf.EM_LOONGARCH,
}

// CheckKubectl refuses a kubectl an image FROM scratch cannot run: not a
// Linux program, one for another architecture, or one dynamically linked
// (it names an interpreter, the dynamic loader, which the image lacks).
func CheckKubectl(path, goarch string) error {
	fail := func(format string, a ...any) error {
		return &KubectlError{Problem: fmt.Sprintf("kubectl %s ", path) + fmt.Sprintf(format, a...), GOARCH: goarch}
	}
	f, err := elf.Open(path)
	var notELF *elf.FormatError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("does not exist")
	case errors.As(err, &notELF):
		return fail("is not a Linux program")
	case err != nil:
		return fmt.Errorf("read kubectl %s: %w", path, err)
	}
	defer f.Close()
	want, known := elfMachines[goarch]
	switch {
	case f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX:
		return fail("is a program for %s, not Linux", strings.TrimPrefix(f.OSABI.String(), "ELFOSABI_"))
	case f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN:
		return fail("is not a program (%s)", f.Type)
	case !known:
		return fmt.Errorf("no ELF machine known for GOARCH %s", goarch)
	case f.Machine != want:
		return fail("is for %s, not %s", strings.TrimPrefix(f.Machine.String(), "EM_"), goarch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, err := io.ReadAll(p.Open())
			if err != nil {
				return fmt.Errorf("read the interpreter of kubectl %s: %w", path, err)
			}
			return fail("is dynamically linked (it needs %s)", strings.TrimRight(string(interp), "\x00"))
		}
	}
	return nil
}

// caBundles are where Linux distributions (and macOS: /etc/ssl/cert.pem)
// keep the PEM bundle of trusted CAs, as Go's crypto/x509 looks for them.
var caBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// CABundle is the file of CA certificates the image trusts: SSL_CERT_FILE
// when set, else this machine's bundle.
func CABundle(sslCertFile string, isFile func(string) bool) (string, error) {
	if sslCertFile != "" {
		if !isFile(sslCertFile) {
			return "", fmt.Errorf("SSL_CERT_FILE names %s, which is not a file", sslCertFile)
		}
		return sslCertFile, nil
	}
	for _, p := range caBundles {
		if isFile(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no CA certificates on this machine (looked for %s): without them the image cannot reach an https endpoint; name a PEM bundle with SSL_CERT_FILE", strings.Join(caBundles, ", "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
