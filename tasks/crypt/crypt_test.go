package crypt_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/stevedore-dev/stevedore/tasks/crypt"
)

// sshKey makes an SSH ed25519 key pair: the authorized_keys line and the
// private key's PEM, as ssh-keygen writes them.
func sshKey(t *testing.T) (public string, private []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "alice@laptop")
	require.NoError(t, err)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " alice@laptop", pem.EncodeToMemory(block)
}

func ageKey(t *testing.T) (public string, private []byte) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	return id.Recipient().String(), []byte("# created: today\n" + id.String() + "\n")
}

func seal(t *testing.T, plain []byte, keys ...string) []byte {
	t.Helper()
	rs, err := crypt.Recipients(keys)
	require.NoError(t, err)
	var out bytes.Buffer
	w, err := crypt.Encrypt(&out, rs)
	require.NoError(t, err)
	_, err = w.Write(plain)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out.Bytes()
}

func open(sealed, identity []byte) ([]byte, error) {
	ids, err := crypt.ParseIdentities(identity)
	if err != nil {
		return nil, err
	}
	r, err := crypt.Decrypt(bytes.NewReader(sealed), ids, "b1")
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTripWithAgeAndSSHKeysAndEitherOfTwo(t *testing.T) {
	plain := bytes.Repeat([]byte("COPY items FROM stdin;\n"), 10000)
	agePub, agePriv := ageKey(t)
	sshPub, sshPriv := sshKey(t)
	for name, c := range map[string]struct {
		to       []string
		identity []byte
	}{
		"age X25519":             {[]string{agePub}, agePriv},
		"SSH ed25519":            {[]string{sshPub}, sshPriv},
		"two, opened by the age": {[]string{agePub, sshPub}, agePriv},
		"two, opened by the SSH": {[]string{agePub, sshPub}, sshPriv},
	} {
		t.Run(name, func(t *testing.T) {
			sealed := seal(t, plain, c.to...)
			assert.False(t, bytes.Contains(sealed, []byte("COPY items")), "no plain text in what is stored")
			got, err := open(sealed, c.identity)
			require.NoError(t, err)
			assert.Equal(t, plain, got)
		})
	}
}

func TestWrongOrMissingIdentityIsOneClearLine(t *testing.T) {
	agePub, _ := ageKey(t)
	_, otherPriv := ageKey(t)
	_, otherSSH := sshKey(t)
	sealed := seal(t, []byte("secret rows"), agePub)
	for _, identity := range [][]byte{otherPriv, otherSSH} {
		_, err := open(sealed, identity)
		var noKey *crypt.NoIdentityError
		require.ErrorAs(t, err, &noKey)
		assert.True(t, noKey.Wrong)
		assert.Equal(t, "backup b1 is encrypted, and the age identity given is not one of its recipients", err.Error())
	}
	_, err := crypt.Decrypt(bytes.NewReader(sealed), nil, "b1")
	assert.ErrorContains(t, err, "give the age identity that opens it")
	assert.NotContains(t, err.Error(), "\n")
}

func TestIdentitiesComeFromTheVariableOrAFile(t *testing.T) {
	agePub, agePriv := ageKey(t)
	sealed := seal(t, []byte("rows"), agePub)
	file := filepath.Join(t.TempDir(), "key.txt")
	require.NoError(t, os.WriteFile(file, agePriv, 0o600))

	t.Setenv(crypt.IdentityEnv, "")
	t.Setenv(crypt.IdentityFileEnv, "")
	ids, err := crypt.Identities("")
	require.NoError(t, err)
	assert.Empty(t, ids, "none given is not an error until a backup needs one")

	for name, setup := range map[string]func() string{
		"flag":          func() string { return file },
		"variable":      func() string { t.Setenv(crypt.IdentityEnv, string(agePriv)); return "" },
		"variable file": func() string { t.Setenv(crypt.IdentityEnv, ""); t.Setenv(crypt.IdentityFileEnv, file); return "" },
	} {
		ids, err := crypt.Identities(setup())
		require.NoError(t, err, name)
		r, err := crypt.Decrypt(bytes.NewReader(sealed), ids, "b1")
		require.NoError(t, err, name)
		got, _ := io.ReadAll(r)
		assert.Equal(t, "rows", string(got), name)
	}

	t.Setenv(crypt.IdentityEnv, "AGE-SECRET-KEY-1NOTAKEY")
	_, err = crypt.Identities("")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "NOTAKEY", "errors never quote a key")
	_, err = crypt.Identities(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "age identity")
}

func TestRecipientsAreKeysOrFilesOfKeys(t *testing.T) {
	agePub, _ := ageKey(t)
	sshPub, _ := sshKey(t)
	file := filepath.Join(t.TempDir(), "team.pub")
	require.NoError(t, os.WriteFile(file, []byte("# the team\n"+agePub+"\n\n"+sshPub+"\n"), 0o644))
	rs, err := crypt.Recipients([]string{file, " " + agePub + " "})
	require.NoError(t, err)
	assert.Equal(t, []string{agePub, sshPub, agePub}, crypt.Keys(rs))

	for _, bad := range []string{"age1notakey", "ssh-ed25519 AAAAnot", "no/such/file"} {
		_, err := crypt.Recipients([]string{bad})
		assert.Error(t, err, bad)
	}
}
