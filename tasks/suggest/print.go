package suggest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Print is env:init: what stevedore found and inferred, the x-stevedore
// block that says it explicitly, and the inline secrets with the
// .env.example that replaces them. It writes .env.example only when asked,
// and never one that exists.
func Print(out *term.Printer, s settings.Settings, write bool) error {
	if err := s.RequireCompose(); err != nil && s.Files == nil {
		return err
	}
	out.OK("compose files: %s (%s)", strings.Join(s.Files, ", "), s.Found)
	if s.ComposeErr != nil {
		out.Warn("%v", s.ComposeErr)
	}
	out.OK("project %s (%s); database service %s (%s); backups in %s", s.Project, s.Sources["project"], s.DBService, s.Sources["database"], s.BackupDir)
	fmt.Fprintf(out.Writer(), "\nAdd this block to %s to make it explicit (Compose ignores x- keys):\n\n%s\n", filepath.Base(s.Files[0]), Block(s))

	secrets, err := InlineSecrets(s.Files)
	if err != nil {
		return err
	}
	if len(secrets) == 0 {
		out.OK("no secret is written inline in the Compose files")
		return nil
	}
	out.Warn("%d secret(s) written inline in the Compose files:", len(secrets))
	for _, sec := range secrets {
		how := fmt.Sprintf("replace the value with ${%s}", sec.Key)
		if sec.InURL {
			how = "a password inside the URL: build it from a variable, e.g. postgres://user:${POSTGRES_PASSWORD}@db/..."
		}
		fmt.Fprintf(out.Writer(), "    %s: %s.%s: %s\n", sec.File, sec.Service, sec.Key, how)
	}
	example := EnvExample(secrets)
	path := filepath.Join(s.Dir, ".env.example")
	if !write {
		fmt.Fprintf(out.Writer(), "\n.env.example for them (env:up makes .env from it, with random passwords):\n\n%s\n", example)
		out.Next("go tool mage env:init -write   # writes " + path)
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: left as it is", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(example); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	out.OK("wrote %s; the Compose files are unchanged", path)
	return nil
}
