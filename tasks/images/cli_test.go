package images

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompileArgs(t *testing.T) {
	assert.Equal(t,
		[]string{"env", "CGO_ENABLED=0", "go", "tool", "mage", "-compile", "/tmp/x/stevedore", "-goos", "linux", "-goarch", "arm64", "-ldflags", "-s -w"},
		CompileArgs("/tmp/x/stevedore", "arm64"))
}

func TestFindKubectl(t *testing.T) {
	onPath := func(string) (string, error) { return "/usr/local/bin/kubectl", nil }
	nowhere := func(string) (string, error) { return "", exec.ErrNotFound }
	tests := []struct {
		name, given string
		lookPath    func(string) (string, error)
		want, err   string
	}{
		{"given wins", "/opt/kubectl", onPath, "/opt/kubectl", ""},
		{"from PATH", "", onPath, "/usr/local/bin/kubectl", ""},
		{"given, none on PATH", "./kubectl", nowhere, "./kubectl", ""},
		{"none", "", nowhere, "", "no kubectl on PATH: the image is FROM scratch, so it needs a static linux/amd64 kubectl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindKubectl(tt.given, "amd64", tt.lookPath)
			assert.Equal(t, tt.want, got)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.err)
			var ke *KubectlError
			require.ErrorAs(t, err, &ke)
			assert.Contains(t, ke.Next(), "/bin/linux/amd64/kubectl && go tool mage images:cli -kubectl=./kubectl")
		})
	}
}

// writeELF writes the smallest ELF file debug/elf reads: a header and,
// when interp is set, a PT_INTERP program header naming it.
func writeELF(t *testing.T, osabi elf.OSABI, typ elf.Type, machine elf.Machine, interp string) string {
	t.Helper()
	const ehsize, phsize = 64, 56
	h := elf.Header64{Type: uint16(typ), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT), Ehsize: ehsize, Phentsize: phsize}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION], h.Ident[elf.EI_OSABI] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(osabi)
	var progs []elf.Prog64
	if interp != "" {
		h.Phoff, h.Phnum = ehsize, 1
		progs = append(progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: ehsize + phsize, Filesz: uint64(len(interp) + 1), Memsz: uint64(len(interp) + 1)})
	}
	var b bytes.Buffer
	require.NoError(t, binary.Write(&b, binary.LittleEndian, h))
	require.NoError(t, binary.Write(&b, binary.LittleEndian, progs))
	if interp != "" {
		b.WriteString(interp + "\x00")
	}
	p := filepath.Join(t.TempDir(), "kubectl")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o755))
	return p
}

// goProgram builds a real static Go program for GOOS/GOARCH (no cgo).
func goProgram(t *testing.T, goos, goarch string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module kubectl\n\ngo 1.24\n"), 0o644))
	out := filepath.Join(dir, "kubectl")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

func TestCheckKubectl(t *testing.T) {
	script := filepath.Join(t.TempDir(), "kubectl")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec kubectl \"$@\"\n"), 0o755))
	tests := []struct {
		name, path, goarch, err string
	}{
		{"static linux/amd64", goProgram(t, "linux", "amd64"), "amd64", ""},
		{"static linux/arm64", goProgram(t, "linux", "arm64"), "arm64", ""},
		{"another architecture", goProgram(t, "linux", "arm64"), "amd64", "is for AARCH64, not amd64"},
		{"a macOS program", goProgram(t, "darwin", "arm64"), "arm64", "is not a Linux program"},
		{"a Windows program", goProgram(t, "windows", "amd64"), "amd64", "is not a Linux program"},
		{"a script", script, "amd64", "is not a Linux program"},
		{"missing", filepath.Join(t.TempDir(), "kubectl"), "amd64", "does not exist"},
		{"dynamically linked", writeELF(t, elf.ELFOSABI_NONE, elf.ET_DYN, elf.EM_X86_64, "/lib64/ld-linux-x86-64.so.2"), "amd64",
			"is dynamically linked (it needs /lib64/ld-linux-x86-64.so.2): the image is FROM scratch"},
		{"static, no program headers", writeELF(t, elf.ELFOSABI_LINUX, elf.ET_EXEC, elf.EM_X86_64, ""), "amd64", ""},
		{"a FreeBSD program", writeELF(t, elf.ELFOSABI_FREEBSD, elf.ET_EXEC, elf.EM_X86_64, ""), "amd64", "is a program for FREEBSD, not Linux"},
		{"an object file", writeELF(t, elf.ELFOSABI_NONE, elf.ET_REL, elf.EM_X86_64, ""), "amd64", "is not a program (ET_REL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckKubectl(tt.path, tt.goarch)
			if tt.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "kubectl "+tt.path+" "+tt.err)
			assert.NotContains(t, err.Error(), "\n", "one line")
			var ke *KubectlError
			assert.True(t, errors.As(err, &ke), "a KubectlError, with its next command")
		})
	}
}

// TestCheckKubectlRefusesThisMachinesDynamicPrograms reads real programs
// of the distribution, which its dynamic loader runs.
func TestCheckKubectlRefusesThisMachinesDynamicPrograms(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the programs of a Linux distribution")
	}
	ls, err := exec.LookPath("ls")
	require.NoError(t, err)
	ls, err = filepath.EvalSymlinks(ls)
	require.NoError(t, err)
	f, err := elf.Open(ls)
	require.NoError(t, err)
	defer f.Close()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	if !dynamic {
		t.Skipf("%s is static here (busybox?)", ls)
	}
	err = CheckKubectl(ls, runtime.GOARCH)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "kubectl "+ls+" is dynamically linked (it needs /"), err.Error())
}

func TestCABundle(t *testing.T) {
	having := func(files ...string) func(string) bool {
		return func(p string) bool { return strings.Contains(strings.Join(files, "\n")+"\n", p+"\n") }
	}
	tests := []struct {
		name, sslCertFile string
		isFile            func(string) bool
		want, err         string
	}{
		{"Debian", "", having("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"), "/etc/ssl/certs/ca-certificates.crt", ""},
		{"Fedora", "", having("/etc/pki/tls/certs/ca-bundle.crt"), "/etc/pki/tls/certs/ca-bundle.crt", ""},
		{"Alpine or macOS", "", having("/etc/ssl/cert.pem"), "/etc/ssl/cert.pem", ""},
		{"SSL_CERT_FILE wins", "/corp/ca.pem", having("/corp/ca.pem", "/etc/ssl/certs/ca-certificates.crt"), "/corp/ca.pem", ""},
		{"SSL_CERT_FILE missing", "/corp/ca.pem", having("/etc/ssl/certs/ca-certificates.crt"), "", "SSL_CERT_FILE names /corp/ca.pem, which is not a file"},
		{"none", "", having(), "", "no CA certificates on this machine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CABundle(tt.sslCertFile, tt.isFile)
			assert.Equal(t, tt.want, got)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.err)
			}
		})
	}
}
