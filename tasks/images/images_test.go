package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDebootstrapArgs(t *testing.T) {
	tests := []struct {
		name string
		base Base
		want []string
	}{
		{"no packages", Base{Suite: "bookworm"}, []string{"debootstrap", "--variant=minbase", "bookworm", "/r"}},
		{"packages sorted", Base{Suite: "trixie", Packages: []string{"zstd", "postgresql-15"}},
			[]string{"debootstrap", "--variant=minbase", "--include=postgresql-15,zstd", "trixie", "/r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, DebootstrapArgs(tt.base, "/r"))
		})
	}
}

func TestRecipeDigestFollowsEveryInput(t *testing.T) {
	recipes := fstest.MapFS{
		"images/pg/Dockerfile": {Data: []byte("FROM base\n")},
		"images/pg/entry.sh":   {Data: []byte("exec \"$@\"\n")},
		"images/other/x":       {Data: []byte("unrelated")},
	}
	img := Image{Ref: "pg:1", Recipe: "pg", Base: Base{Ref: "base", Suite: "bookworm", Packages: []string{"postgresql-15"}}}
	digest := func(fsys fstest.MapFS, img Image) string {
		d, err := RecipeDigest(fsys, img)
		require.NoError(t, err)
		return d
	}
	orig := digest(recipes, img)
	assert.Equal(t, orig, digest(recipes, img), "stable")

	other := fstest.MapFS{}
	for k, v := range recipes {
		other[k] = v
	}
	other["images/other/x"] = &fstest.MapFile{Data: []byte("changed")}
	assert.Equal(t, orig, digest(other, img), "another recipe does not count")

	other["images/pg/entry.sh"] = &fstest.MapFile{Data: []byte("exec postgres\n")}
	assert.NotEqual(t, orig, digest(other, img), "a changed file counts")

	more := img
	more.Base.Packages = []string{"postgresql-15", "zstd"}
	assert.NotEqual(t, orig, digest(recipes, more), "a changed base counts")

	assert.NotEqual(t, BaseDigest(img.Base), BaseDigest(more.Base), "the base's own digest follows its definition")

	_, err := RecipeDigest(recipes, Image{Recipe: "missing"})
	assert.Error(t, err)
}

func TestWriteContextPacksTheRecipeAndTheFilesGiven(t *testing.T) {
	recipes := fstest.MapFS{
		"images/pg/Dockerfile":   {Data: []byte("FROM base\n")},
		"images/pg/sub/entry.sh": {Data: []byte("#!/bin/sh\n")},
		"images/other/x":         {Data: []byte("unrelated")},
	}
	program := filepath.Join(t.TempDir(), "program")
	require.NoError(t, os.WriteFile(program, []byte("\x7fELF"), 0o600))
	var b bytes.Buffer
	require.NoError(t, writeContext(&b, recipes, "images/pg", []contextFile{
		{name: "prog", path: program, mode: 0o755},
		{name: "home", dir: true, mode: 0o700},
	}))
	type entry struct {
		data string
		mode int64
		dir  bool
	}
	got := map[string]entry{}
	tr := tar.NewReader(&b)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		got[h.Name] = entry{string(data), h.Mode, h.Typeflag == tar.TypeDir}
	}
	assert.Equal(t, map[string]entry{
		"Dockerfile":   {"FROM base\n", 0o644, false},
		"sub/entry.sh": {"#!/bin/sh\n", 0o644, false},
		"prog":         {"\x7fELF", 0o755, false},
		"home/":        {"", 0o700, true},
	}, got)

	assert.ErrorIs(t, writeContext(io.Discard, recipes, "images/pg", []contextFile{{name: "gone", path: filepath.Join(t.TempDir(), "gone")}}), fs.ErrNotExist)
}

func TestReadMessages(t *testing.T) {
	tests := []struct {
		name, stream, wantErr, wantDetail string
	}{
		{"build output", `{"stream":"Step 1/2\n"}{"stream":"done\n"}`, "", "Step 1/2\ndone\n"},
		{"error detail", `{"stream":"Step 1/2\n"}{"errorDetail":{"message":"RUN failed"},"error":"RUN failed"}`, "RUN failed", "Step 1/2\n"},
		{"bare error", `{"error":"no space left"}`, "no space left", ""},
		{"status", `{"status":"sha256:abc"}`, "", "sha256:abc\n"},
		{"truncated stream", `{"stream":"Ste`, "read engine messages", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var detail strings.Builder
			err := readMessages(strings.NewReader(tt.stream), &detail)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
			assert.Equal(t, tt.wantDetail, detail.String())
		})
	}
}

func TestRecipeFor(t *testing.T) {
	for ref, want := range map[string]string{
		"postgres:15-bookworm":                    Postgres.Ref,
		"stevedore/api:local":                     API.Ref,
		"postgres:15-alpine":                      Postgres.Ref,
		"postgres:15":                             Postgres.Ref,
		"postgres:15.8-bookworm":                  Postgres.Ref,
		"docker.io/library/postgres:15.4":         Postgres.Ref,
		"postgres:16-alpine":                      "",
		"postgres:150":                            "",
		"postgres":                                "",
		"dpage/pgadmin4:latest":                   "",
		"example.com:5000/postgres:15":            "",
		"postgres:15-alpine@sha256:0123456789abc": Postgres.Ref,
	} {
		img, ok := RecipeFor(ref)
		assert.Equal(t, want != "", ok, ref)
		assert.Equal(t, want, img.Ref, ref)
	}
}
