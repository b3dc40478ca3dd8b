package pgtarget

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// A database volume keeps the role and password it was made with; a second
// checkout or a deleted settings file brings a new password to the same
// volume. The application then fails to log in and never gets ready. These
// find that before the wait, and mend it from inside the container.

// ErrWrongPassword says the server refused the settings' password.
var ErrWrongPassword = errors.New("password authentication failed")

// ErrNoNetwork says the container has no network address to log in at.
var ErrNoNetwork = errors.New("the database container has no network address")

// ErrNotReady says the server cannot answer a login yet: starting, or
// initialising a new volume (when it listens on its socket only).
var ErrNotReady = errors.New("the database server is not accepting connections yet")

// TCPLogin logs in with the password over TCP at the container's network
// address, as the application does (the loopback is trusted by the
// official image, so it would prove nothing). It returns nil when that
// works, ErrWrongPassword or a *NoRoleError when the volume was made with
// other credentials, ErrNotReady while the server cannot say yet, and
// another error for any other answer.
func (d *Docker) TCPLogin(ctx context.Context) error {
	if d.addr == "" {
		return ErrNoNetwork
	}
	args := append([]string{"psql", "-h", d.addr}, PsqlQueryArgs(d.creds, d.creds.Database, "SELECT 1")[1:]...)
	_, stderr, code, err := d.exec(ctx, args)
	switch {
	case err != nil:
		return err
	case code == 0:
		return nil
	case strings.Contains(stderr, "password authentication failed"):
		return ErrWrongPassword
	case strings.Contains(stderr, fmt.Sprintf("role %q does not exist", d.creds.User)):
		return &NoRoleError{Role: d.creds.User}
	case strings.Contains(stderr, "Connection refused"), strings.Contains(stderr, "starting up"),
		strings.Contains(stderr, "shutting down"), strings.Contains(stderr, "not yet accepting connections"):
		return ErrNotReady
	}
	return ParseExit("psql", code, stderr)
}

// setPasswordScript sends ALTER ROLE through psql's standard input from the
// shell's printf builtin: the verifier is on no command line.
const setPasswordScript = `printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"';\n' "$STEVEDORE_ROLE" "$STEVEDORE_VERIFIER" |
psql -X -q --no-password -v ON_ERROR_STOP=1 -p "$STEVEDORE_PORT" -U "$STEVEDORE_ROLE" -d postgres -f -`

// SetPassword makes the role's password the settings' one, connecting over
// the container's local socket (where the official image trusts local
// users) and sending a SCRAM verifier: the password itself never reaches
// the server's logs.
func (d *Docker) SetPassword(ctx context.Context) error {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	env := []string{
		"STEVEDORE_ROLE=" + strings.ReplaceAll(d.creds.User, `"`, `""`),
		"STEVEDORE_VERIFIER=" + ScramVerifier(d.creds.Password, salt),
		"STEVEDORE_PORT=" + d.creds.Port,
	}
	_, stderr, code, err := d.eng.Exec(ctx, d.id, []string{"sh", "-c", setPasswordScript}, env)
	if err != nil {
		return d.containerErr(ctx, fmt.Errorf("exec in %s: %w", d.name, err))
	}
	if code != 0 {
		return ParseExit("psql", code, stderr)
	}
	return nil
}

// scramIterations is PostgreSQL's default (scram_iterations).
const scramIterations = 4096

// ScramVerifier is what PostgreSQL stores for a SCRAM-SHA-256 password
// (RFC 5802, RFC 7677): given to ALTER ROLE ... PASSWORD, it is stored as
// is. Passwords are taken as given; PostgreSQL's SASLprep changes only
// non-ASCII ones.
func ScramVerifier(password string, salt []byte) string {
	salted, _ := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(storedKey[:]), b64(serverKey))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
