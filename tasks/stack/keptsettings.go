package stack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// keptSettings are the settings files env:up keeps, private to the user
// (they hold passwords), in the state folder: the one the last healthy
// env:up started from, and the one that one replaced. env:rollback puts
// them back.
type keptSettings struct{ dir string }

func keptSettingsOf(s settings.Settings) keptSettings {
	return keptSettings{dir: filepath.Join(s.StateDir, "settings")}
}

func (k keptSettings) lastUp() string   { return filepath.Join(k.dir, "last-up.env") }
func (k keptSettings) previous() string { return filepath.Join(k.dir, "previous.env") }
func (k keptSettings) replaced() string { return filepath.Join(k.dir, "rolled-back.env") }

// recordUp keeps the settings file a healthy env:up started from; when it
// differs from the last one kept, that one becomes the previous.
func (k keptSettings) recordUp(envFile string) error {
	if envFile == "" {
		return nil
	}
	now, err := os.ReadFile(envFile)
	if err != nil {
		return err
	}
	last, err := os.ReadFile(k.lastUp())
	switch {
	case err == nil && bytes.Equal(last, now):
		return nil
	case err == nil:
		if err := k.write(k.previous(), last); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	return k.write(k.lastUp(), now)
}

func (k keptSettings) write(path string, data []byte) error {
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return err
	}
	return store.WriteFileAtomic(path, data) // private: it holds passwords
}

// settingsChoice is what env:rollback does with the settings file.
type settingsChoice struct {
	from string // the kept file to put back; "" for none
	why  string // for people
}

// chooseSettings decides: a settings file that differs from the one the
// last healthy env:up started from is an unproven change, so that one goes
// back; with previous, the one the last healthy env:up replaced goes back.
func (k keptSettings) chooseSettings(envFile string, previous bool) (settingsChoice, error) {
	if envFile == "" {
		return settingsChoice{why: "the project has no settings file"}, nil
	}
	now, err := os.ReadFile(envFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return settingsChoice{}, err
	}
	from, chosen := k.lastUp(), "the one the last healthy env:up started from"
	missing, same := "no healthy env:up recorded one yet", "unchanged since the last healthy env:up (-previous puts back the one before)"
	if previous {
		from, chosen = k.previous(), "the one the last healthy env:up replaced"
		missing, same = "no earlier settings file is kept (env:up keeps one when the settings change)", "it is already the one the last healthy env:up replaced"
	}
	kept, err := os.ReadFile(from)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return settingsChoice{why: missing}, nil
	case err != nil:
		return settingsChoice{}, err
	case bytes.Equal(kept, now):
		return settingsChoice{why: same}, nil
	}
	return settingsChoice{from: from, why: chosen}, nil
}

// putBack writes the chosen kept file over envFile, keeping what it
// replaces (rolled-back.env): nothing is lost.
func (k keptSettings) putBack(envFile string, c settingsChoice) error {
	data, err := os.ReadFile(c.from)
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(envFile); err == nil {
		if err := k.write(k.replaced(), cur); err != nil {
			return fmt.Errorf("keep %s before replacing it: %w", envFile, err)
		}
	}
	return store.WriteFileAtomic(envFile, data)
}
