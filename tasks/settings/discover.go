package settings

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

// Found is where the Compose files of a project are and how they were found.
type Found struct {
	Files []string // absolute
	Dir   string   // the project directory
	How   string
}

// bundledDir is where stevedore's own repository keeps its bundled stack;
// a repository may keep its Compose files there too.
const bundledDir = "compose"

// Discover finds the Compose files as Compose does: COMPOSE_FILE (its
// paths separated by COMPOSE_PATH_SEPARATOR or the OS list separator), else
// compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml and
// the matching override file, searched in STEVEDORE_COMPOSE_DIR if set,
// else in wd, its compose/ folder, then wd's parents.
func Discover(wd string) (Found, error) {
	wd, err := filepath.Abs(wd)
	if err != nil {
		return Found{}, err
	}
	if list := os.Getenv("COMPOSE_FILE"); list != "" {
		sep := os.Getenv("COMPOSE_PATH_SEPARATOR")
		if sep == "" {
			sep = string(os.PathListSeparator)
		}
		var files []string
		for _, f := range strings.Split(list, sep) {
			if !filepath.IsAbs(f) {
				f = filepath.Join(wd, f)
			}
			if _, err := os.Stat(f); err != nil {
				return Found{}, fmt.Errorf("COMPOSE_FILE names %s: %w", f, err)
			}
			files = append(files, f)
		}
		return Found{Files: files, Dir: filepath.Dir(files[0]), How: "COMPOSE_FILE"}, nil
	}
	if dir := os.Getenv("STEVEDORE_COMPOSE_DIR"); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(wd, dir)
		}
		if f, ok := standardFiles(dir); ok {
			f.How = "STEVEDORE_COMPOSE_DIR"
			return f, nil
		}
		return Found{}, &NoComposeError{Where: dir + " (STEVEDORE_COMPOSE_DIR)"}
	}
	if f, ok := standardFiles(wd); ok {
		return f, nil
	}
	if f, ok := standardFiles(filepath.Join(wd, bundledDir)); ok {
		return f, nil
	}
	for dir := filepath.Dir(wd); ; dir = filepath.Dir(dir) {
		if f, ok := standardFiles(dir); ok {
			return f, nil
		}
		if dir == filepath.Dir(dir) {
			return Found{}, &NoComposeError{Where: wd}
		}
	}
}

// standardFiles is the first of Compose's file names found in dir, with the
// first of its override names.
func standardFiles(dir string) (Found, bool) {
	base := firstIn(dir, cli.DefaultFileNames)
	if base == "" {
		return Found{}, false
	}
	f := Found{Files: []string{base}, Dir: dir, How: "found " + filepath.Base(base)}
	if o := firstIn(dir, cli.DefaultOverrideFileNames); o != "" {
		f.Files = append(f.Files, o)
		f.How += " and " + filepath.Base(o)
	}
	return f, true
}

func firstIn(dir string, names []string) string {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

var secretLine = regexp.MustCompile(`(?m)^([A-Z_]*PASSWORD)=.*$`)

// EnvFromExample is a settings file made from .env.example: every
// *PASSWORD gets a fresh random value, so no committed secret is ever used.
func EnvFromExample(example string, random func() string) string {
	return secretLine.ReplaceAllStringFunc(example, func(line string) string {
		k, _, _ := strings.Cut(line, "=")
		return k + "=" + random()
	})
}

// makeEnvFrom writes path from example, private to the user.
func makeEnvFrom(path, example string) error {
	data, err := os.ReadFile(example)
	if err != nil {
		return fmt.Errorf("read %s: %w", example, err)
	}
	if err := os.WriteFile(path, []byte(EnvFromExample(string(data), rand.Text)), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
