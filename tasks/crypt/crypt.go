// Package crypt encrypts backups with age (filippo.io/age): to age X25519
// keys and SSH public keys, given as recipients in the settings, and opened
// by an identity read from a file or from STEVEDORE_AGE_IDENTITY. A backup is
// encrypted as it is written, so its plain SQL never touches the disk.
package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// The variables that give an identity: the key itself, or its file.
const (
	IdentityEnv     = "STEVEDORE_AGE_IDENTITY"
	IdentityFileEnv = "STEVEDORE_AGE_IDENTITY_FILE"
)

// Recipient is one public key a backup is encrypted to, and how it was
// written (for the backup's record).
type Recipient struct {
	age.Recipient
	Key string
}

// Recipients parses the recipients a backup is encrypted to: age public
// keys (age1…) and SSH public keys (ssh-ed25519 …, ssh-rsa …), one per
// entry. An entry may also be a file of such lines (# comments allowed),
// as age's own -R takes.
func Recipients(entries []string) ([]Recipient, error) {
	var out []Recipient
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		lines := []string{e}
		if !looksLikeKey(e) {
			data, err := os.ReadFile(e)
			if err != nil {
				return nil, fmt.Errorf("recipient %q is neither an age or SSH public key nor a readable file: %w", e, err)
			}
			lines = strings.Split(string(data), "\n")
		}
		for _, l := range lines {
			if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			r, err := parseRecipient(l)
			if err != nil {
				return nil, err
			}
			out = append(out, Recipient{Recipient: r, Key: l})
		}
	}
	return out, nil
}

func looksLikeKey(s string) bool {
	return strings.HasPrefix(s, "age1") || strings.HasPrefix(s, "ssh-")
}

func parseRecipient(s string) (age.Recipient, error) {
	if strings.HasPrefix(s, "ssh-") {
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("SSH recipient %s: %w", short(s), err)
		}
		return r, nil
	}
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return nil, fmt.Errorf("age recipient %s: %w", short(s), err)
	}
	return r, nil
}

// short is enough of a public key to tell which one a message means.
func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// Identities reads the identities that open encrypted backups, from the
// first source that gives one: file (a flag or a setting),
// STEVEDORE_AGE_IDENTITY (the key itself) or STEVEDORE_AGE_IDENTITY_FILE.
// None given is not an error: only an encrypted backup needs one, and
// it says so then (NoIdentityError).
func Identities(file string) ([]age.Identity, error) {
	if file == "" {
		if key := os.Getenv(IdentityEnv); strings.TrimSpace(key) != "" {
			ids, err := ParseIdentities([]byte(key))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", IdentityEnv, err)
			}
			return ids, nil
		}
		file = os.Getenv(IdentityFileEnv)
	}
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("age identity: %w", err)
	}
	ids, err := ParseIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("age identity %s: %w", file, err)
	}
	return ids, nil
}

// ParseIdentities reads an age identity file (AGE-SECRET-KEY-1… lines) or
// an SSH private key (PEM). Errors never quote the key.
func ParseIdentities(data []byte) ([]age.Identity, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		id, err := agessh.ParseIdentity(data)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("the SSH key is protected by a passphrase, which a scheduled run cannot type: give an age key or an SSH key without one")
		}
		if err != nil {
			return nil, fmt.Errorf("not a usable SSH private key: %w", err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not an age identity (AGE-SECRET-KEY-1…) or SSH private key: %w", err)
	}
	return ids, nil
}

// Encrypt returns a writer that encrypts to w for rs; Close finishes the
// last chunk and must be called before w is.
func Encrypt(w io.Writer, rs []Recipient) (io.WriteCloser, error) {
	to := make([]age.Recipient, len(rs))
	for i, r := range rs {
		to[i] = r.Recipient
	}
	enc, err := age.Encrypt(w, to...)
	if err != nil {
		return nil, fmt.Errorf("age: %w", err)
	}
	return enc, nil
}

// Keys are the recipients' keys as written.
func Keys(rs []Recipient) []string {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys
}

// Decrypt returns the plain bytes of r, opened with ids. No identity, or
// none that opens it, is a NoIdentityError; damaged bytes surface as read
// errors (age authenticates every 64 KiB chunk).
func Decrypt(r io.Reader, ids []age.Identity, name string) (io.Reader, error) {
	if len(ids) == 0 {
		return nil, &NoIdentityError{Name: name}
	}
	plain, err := age.Decrypt(r, ids...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, &NoIdentityError{Name: name, Wrong: true}
	}
	if err != nil {
		return nil, fmt.Errorf("age header of %s: %w", name, err)
	}
	return plain, nil
}

// NoIdentityError is an encrypted backup without the key to open it.
type NoIdentityError struct {
	Name  string
	Wrong bool // identities were given, none of them a recipient
}

func (e *NoIdentityError) Error() string {
	if e.Wrong {
		return fmt.Sprintf("backup %s is encrypted, and the age identity given is not one of its recipients", e.Name)
	}
	return fmt.Sprintf("backup %s is encrypted: give the age identity that opens it (%s, %s or -identity=FILE)", e.Name, IdentityEnv, IdentityFileEnv)
}

// Next shows the backups with the recipients each is encrypted to.
func (e *NoIdentityError) Next() string { return "go tool mage db:list -json" }
