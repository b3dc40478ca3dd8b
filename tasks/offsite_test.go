package tasks_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/internal/minioserver"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

// keyPair is an age identity and its recipient, or an SSH key pair.
type keyPair struct{ public, private string }

func newAgeKey(t *testing.T) keyPair {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	return keyPair{public: id.Recipient().String(), private: id.String()}
}

func newSSHKey(t *testing.T) keyPair {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	sshPub, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "bob@laptop")
	require.NoError(t, err)
	return keyPair{public: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))), private: string(pem.EncodeToMemory(block))}
}

func (k keyPair) file(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "identity")
	require.NoError(t, os.WriteFile(p, []byte(k.private), 0o600))
	return p
}

func listing(t *testing.T, r run) dbops.Listing {
	t.Helper()
	require.Equal(t, 0, r.Code, r.Out)
	var l dbops.Listing
	require.NoError(t, json.Unmarshal([]byte(r.Out), &l), r.Out)
	return l
}

func backupNames(l dbops.Listing) []string {
	var out []string
	for _, b := range l.Backups {
		out = append(out, b.Name)
	}
	return out
}

func TestEncryptedBackupsOpenOnlyWithARecipientsKey(t *testing.T) {
	f := newDBFixture(t, 3000)
	alice, bob, eve := newAgeKey(t), newSSHKey(t), newAgeKey(t)
	f.env = append(f.env, "STEVEDORE_AGE_RECIPIENTS="+alice.public+","+bob.public)
	r := f.run(t, "db:backup", "-name=sealed")
	require.Equal(t, 0, r.Code, r.Out)
	want := f.state(t)

	e := f.list(t)[0]
	assert.Equal(t, filepath.Join(f.dir, "sealed.sql.zst.age"), e.Path)
	assert.Equal(t, store.FormatPlainZstdAge, e.Record.Format)
	assert.Equal(t, []string{alice.public, bob.public}, e.Record.Recipients)
	data, err := os.ReadFile(e.Path)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")), "an age file")
	for _, leftover := range []string{"sealed.sql.zst", ".sealed.sql.zst.age"} {
		assert.NoFileExists(t, filepath.Join(f.dir, leftover), "plain text never touches the disk")
	}

	// No identity, or one that is not a recipient: one line, exit 1, nothing changed.
	f.sql(t, `DELETE FROM item WHERE id > 10`)
	changed := f.state(t)
	noKey := f.run(t, "db:restore", "-name=sealed", "-yes")
	assert.Equal(t, 1, noKey.Code)
	assert.Contains(t, failureLine(t, noKey), "is encrypted: give the age identity that opens it")
	wrong := runTarget(t, append(f.env, "STEVEDORE_AGE_IDENTITY="+eve.private), "db:restore", "-name=sealed", "-yes")
	assert.Equal(t, 1, wrong.Code)
	assert.Contains(t, failureLine(t, wrong), "not one of its recipients")
	assert.NotContains(t, wrong.Out, "AGE-SECRET-KEY", "a key is never printed")
	assert.Equal(t, changed, f.state(t))

	// Either recipient opens it: the age key from the variable, the SSH key from a file.
	ok := runTarget(t, append(f.env, "STEVEDORE_AGE_IDENTITY="+alice.private), "db:verify", "-name=sealed")
	require.Equal(t, 0, ok.Code, ok.Out)
	restored := f.run(t, "db:restore", "-name=sealed", "-yes", "-identity="+bob.file(t))
	require.Equal(t, 0, restored.Code, restored.Out)
	assert.Equal(t, want, f.state(t))

	// A flipped byte in the stored file is refused as damage, key or not.
	flipByte(t, e.Path)
	bad := runTarget(t, append(f.env, "STEVEDORE_AGE_IDENTITY="+alice.private), "db:verify", "-name=sealed")
	assert.Equal(t, 1, bad.Code)
	assert.Contains(t, failureLine(t, bad), "is bad")

	// A header cut short is a verdict too: recorded, so -latest and
	// retention stop counting on the backup.
	require.Equal(t, 0, runTarget(t, f.env, "db:backup", "-name=cut").Code)
	require.NoError(t, os.Truncate(filepath.Join(f.dir, "cut.sql.zst.age"), 20))
	bad = runTarget(t, append(f.env, "STEVEDORE_AGE_IDENTITY="+alice.private), "db:verify", "-name=cut")
	assert.Equal(t, 1, bad.Code, bad.Out)
	assert.Contains(t, failureLine(t, bad), "is bad")
	for _, b := range listing(t, runTarget(t, f.env, "db:list", "-json")).Backups {
		if b.Name == "cut" {
			require.NotNil(t, b.Verified)
			assert.False(t, b.Verified.OK)
		}
	}
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer fh.Close()
	info, _ := fh.Stat()
	b := []byte{0}
	_, err = fh.ReadAt(b, info.Size()/2)
	require.NoError(t, err)
	b[0] ^= 0x40
	_, err = fh.WriteAt(b, info.Size()/2)
	require.NoError(t, err)
}

// TestTheTeamSharesBackupsThroughABucket is the DDEV-style pull: backups
// pushed from one machine (encrypted, pruned there too), then a new
// machine's empty folder restores the newest, or one by name.
func TestTheTeamSharesBackupsThroughABucket(t *testing.T) {
	srv := minioserver.Start(t)
	f := newDBFixture(t, 2000)
	team := newAgeKey(t)
	bucket := []string{"STEVEDORE_OFFSITE_URL=s3://" + srv.Bucket(t) + "/shop", "STEVEDORE_S3_ENDPOINT=" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey}
	f.env = append(append(f.env, bucket...), "STEVEDORE_AGE_RECIPIENTS="+team.public, "STEVEDORE_KEEP=2", "STEVEDORE_OFFSITE_PUSH=true")

	states := map[string]string{}
	for i, name := range []string{"b1", "b2", "b3"} {
		f.sql(t, "DELETE FROM item WHERE id = "+string(rune('1'+i)))
		r := f.run(t, "db:backup", "-name="+name)
		require.Equal(t, 0, r.Code, r.Out)
		assert.Contains(t, r.Out, "pushed "+name)
		states[name] = f.state(t)
	}
	remote := listing(t, f.run(t, "db:list", "-remote", "-json"))
	assert.Equal(t, []string{"b3", "b2"}, backupNames(remote), "the bucket keeps the newest 2 too")
	assert.Equal(t, store.FormatPlainZstdAge, remote.Backups[0].Format)

	// A new machine: an empty folder, the team's key. A restore of "the
	// latest" points at the bucket.
	f.sql(t, `DELETE FROM item`)
	newMachine := append(append([]string(nil), f.env...), "STEVEDORE_BACKUP_DIR="+filepath.Join(t.TempDir(), "backups"), "STEVEDORE_AGE_IDENTITY="+team.private)
	r := runTarget(t, newMachine, "db:restore", "-latest", "-yes")
	assert.Equal(t, 1, r.Code)
	assert.Contains(t, r.Out, "next: go tool mage db:pull -latest -restore")
	r = runTarget(t, newMachine, "db:pull", "-latest", "-restore", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "pulled b3")
	assert.Equal(t, states["b3"], f.state(t))

	// db:restore -name of a backup only the bucket holds pulls it first.
	r = runTarget(t, newMachine, "db:restore", "-name=b2", "-yes")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "fetching it from")
	assert.Equal(t, states["b2"], f.state(t))
	local := listing(t, runTarget(t, newMachine, "db:list", "-json"))
	assert.ElementsMatch(t, []string{"b3", "b2"}, backupNames(local))

	// The doctor sees the bucket.
	r = runTarget(t, append(newMachine, "STEVEDORE_REPORT_DIR="+t.TempDir()), "diag:run", "-json")
	var report struct {
		Checks []struct{ ID, Status, Summary string }
	}
	require.NoError(t, json.NewDecoder(strings.NewReader(r.Out[strings.Index(r.Out, "{"):])).Decode(&report), r.Out)
	found := false
	for _, ch := range report.Checks {
		if ch.ID == "offsite" {
			found = true
			assert.Equal(t, "ok", ch.Status, ch.Summary)
			assert.Contains(t, ch.Summary, "newest good backup in s3://")
		}
	}
	assert.True(t, found, "an offsite check in:\n%s", r.Out)

	// db:prune -remote: the whole policy, in the bucket.
	r = runTarget(t, newMachine, "db:prune", "-remote", "-keep=1", "-dryrun")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Contains(t, r.Out, "would delete b2")
	assert.Equal(t, []string{"b3", "b2"}, backupNames(listing(t, runTarget(t, newMachine, "db:list", "-remote", "-json"))))
	require.Equal(t, 0, runTarget(t, newMachine, "db:prune", "-remote", "-keep=1").Code)
	assert.Equal(t, []string{"b3"}, backupNames(listing(t, runTarget(t, newMachine, "db:list", "-remote", "-json"))))

	// Wrong credentials: one line, the secret nowhere.
	wrong := runTarget(t, append(newMachine, "AWS_SECRET_ACCESS_KEY=wrong-secret-value"), "db:list", "-remote")
	assert.Equal(t, 1, wrong.Code)
	assert.Contains(t, failureLine(t, wrong), "refused the credentials")
	assert.NotContains(t, wrong.Out, "wrong-secret-value")
	assert.NotContains(t, wrong.Out, srv.SecretKey)
}
