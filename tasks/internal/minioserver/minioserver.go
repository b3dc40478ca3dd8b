// Package minioserver runs a real MinIO server for the offsite tests: built
// once from the Go module proxy (there is no registry to pull an image
// from) and cached by version, started on 127.0.0.1 with a data folder of
// the test's own, stopped when the test ends.
package minioserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
)

// Version is the MinIO server built: tags are not semver, so a
// pseudo-version of a release known to build here (no replace directives).
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

// Module is what `go install` builds.
const Module = "github.com/minio/minio@" + Version

// BinaryEnv names a prebuilt server (the test target builds it once for
// every package).
const BinaryEnv = "STEVEDORE_TEST_MINIO"

// CacheDir is where built servers are kept, one folder per version.
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "stevedore", "minio", Version), nil
}

// Binary returns the server's path, building it first if the cache lacks
// it (about 3 minutes on two cores; log hears the build). Concurrent test
// packages wait for one build.
func Binary(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "minio")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock := flock.New(dir + ".lock")
	if _, err := lock.TryLockContext(ctx, 500*time.Millisecond); err != nil {
		return "", err
	}
	defer lock.Unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built while this one waited
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "install", "-trimpath", Module)
	// GOFLAGS of the project (-mod=…) must not reach a foreign module.
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build MinIO %s from the Go module proxy: %w", Version, err)
	}
	return bin, os.Rename(filepath.Join(tmp, "minio"), bin)
}

// Server is a running MinIO.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string // its data
	cmd       *exec.Cmd
}

// Start runs a server for t, or skips t with the reason when none can be
// built (fails instead under CI=true, where every test must run).
func Start(t testing.TB) *Server {
	t.Helper()
	ctx := t.Context()
	bin, err := Binary(ctx, io.Discard)
	if err != nil {
		tcenv.Unavailable(t, "no MinIO server: %v", err)
	}
	s := &Server{AccessKey: "stevedore-" + random(4), SecretKey: random(16), Dir: t.TempDir()}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s.Endpoint = "http://" + addr
	// Not CommandContext: the server must outlive the test's context so
	// that cleanup (which runs after it ends) can still empty buckets.
	s.cmd = exec.Command(bin, "server", "--quiet", "--address", addr, s.Dir)
	s.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey, "MINIO_BROWSER=off")
	logFile, err := os.Create(filepath.Join(t.TempDir(), "minio.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start MinIO: %v", err)
	}
	t.Cleanup(func() { s.Stop(); logFile.Close() })
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("MinIO did not come up: %v\n%s", err, log)
	}
	return s
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/minio/health/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("not ready in " + limit.String())
		case <-tick.C:
		}
	}
}

// Client is a minio-go client of the server, as root.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint[len("http://"):], &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket makes a new bucket with a random name and returns the name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := "test-" + random(6)
	if err := s.Client(t).MakeBucket(t.Context(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
