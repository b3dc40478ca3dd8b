package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
)

// upRecord is what a successful env:up leaves in Settings.StatusFile: the
// services it started and a digest of what it started them from, so that
// the next env:up can tell in milliseconds that nothing needs doing.
type upRecord struct {
	Digest   string   `json:"digest"`
	Services []string `json:"services"`
}

// inputsDigest fingerprints what the stack is started from: the compose
// files, the settings file, the mode and the profiles.
func inputsDigest(s settings.Settings) (string, error) {
	h := sha256.New()
	files := append([]string(nil), s.Files...)
	if s.EnvFile != "" {
		files = append(files, s.EnvFile)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	fmt.Fprintf(h, "%s\x00%s\x00%s", s.Project, s.Mode, strings.Join(s.Profiles, ","))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// alreadyUp reports whether the services the last env:up started from the
// same inputs are all still ready.
func alreadyUp(ctx context.Context, eng *engine.Engine, s settings.Settings, digest string) ([]Service, bool) {
	data, err := os.ReadFile(s.StatusFile())
	if err != nil {
		return nil, false
	}
	var rec upRecord
	if json.Unmarshal(data, &rec) != nil || rec.Digest != digest || len(rec.Services) == 0 {
		return nil, false
	}
	services, err := Observe(ctx, eng, s)
	if err != nil {
		return nil, false
	}
	for _, r := range Judge(rec.Services, services, ProbeAll(ctx, services)) {
		if !r.Ready {
			return nil, false
		}
	}
	return services, true
}

func writeUpRecord(path string, rec upRecord) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, _ := json.Marshal(rec)
	return os.WriteFile(path, data, 0o644)
}

// forgetUp removes the record of the last env:up: the stack is no longer
// as it left it, so the next env:up does the work.
func forgetUp(s settings.Settings) error {
	if err := os.Remove(s.StatusFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("could not clear %s: %w", s.StatusFile(), err)
	}
	return nil
}
