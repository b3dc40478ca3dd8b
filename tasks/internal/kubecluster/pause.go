//go:build linux

package kubecluster

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// PauseImage is the sandbox image every pod starts with, built here: there
// is no registry to pull registry.k8s.io/pause from.
const PauseImage = "localhost/stevedore-pause:3.10"

// buildPause compiles kubernetes' pause.c statically and packs it as a
// one-layer OCI image tarball at dst, which `ctr images import` takes.
func buildPause(ctx context.Context, kubeSrc, dir, dst string, out io.Writer) error {
	bin := filepath.Join(dir, "pause.bin")
	cmd := exec.CommandContext(ctx, "gcc", "-Os", "-static", "-DVERSION=3.10", "-o", bin, filepath.Join(kubeSrc, "build", "pause", "linux", "pause.c"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gcc -static pause.c (install gcc and libc6-dev): %w", err)
	}
	defer os.Remove(bin)
	prog, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	img, err := ociTarball(prog)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, img, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ociTarball is an OCI image layout, as a tar, whose one layer holds /pause.
func ociTarball(pause []byte) ([]byte, error) {
	layer, err := tarOf(map[string][]byte{"pause": pause}, 0o755)
	if err != nil {
		return nil, err
	}
	blobs := map[string][]byte{}
	add := func(mediaType string, b []byte) descriptor {
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		blobs["blobs/sha256/"+h] = b
		return descriptor{MediaType: mediaType, Digest: "sha256:" + h, Size: len(b)}
	}
	layerDesc := add("application/vnd.oci.image.layer.v1.tar", layer)
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": []string{"/pause"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDesc.Digest}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": add("application/vnd.oci.image.config.v1+json", config), "layers": []descriptor{layerDesc},
	})
	top := add("application/vnd.oci.image.manifest.v1+json", manifest)
	// ctr names the image after io.containerd.image.name.
	top.Annotations = map[string]string{"io.containerd.image.name": PauseImage, "org.opencontainers.image.ref.name": "3.10"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []descriptor{top}})
	blobs["index.json"] = index
	blobs["oci-layout"] = []byte(`{"imageLayoutVersion":"1.0.0"}`)
	return tarOf(blobs, 0o644)
}

// tarOf is a tar of files (name → content), all with mode, in name order.
func tarOf(files map[string][]byte, mode int64) ([]byte, error) {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := w.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := w.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
