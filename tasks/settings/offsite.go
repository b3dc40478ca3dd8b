package settings

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/offsite"
)

// Encryption is who can open the backups: age X25519 public keys, SSH
// public keys, or files of them. The identity that opens them is each
// person's own and never a project setting (see crypt.Identities).
//
//	encryption:
//	  recipients: [age1…, "ssh-ed25519 AAAA… alice@laptop", keys/team.pub]
type Encryption struct {
	Recipients []string `yaml:"recipients" json:"recipients"`
}

// Offsite is the S3-compatible bucket backups are pushed to. Credentials
// come from the standard AWS variables, or from here through the settings
// file (${VAR}): they are never printed.
//
//	offsite:
//	  url: s3://team-backups/shop
//	  endpoint: https://s3.eu-west-1.amazonaws.com
//	  push: true     # every db:backup uploads
//	  keep: 30       # backups kept there (default: keep)
type Offsite struct {
	URL             string `yaml:"url" json:"url"`
	Endpoint        string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region          string `yaml:"region,omitempty" json:"region,omitempty"`
	Push            bool   `yaml:"push,omitempty" json:"push,omitempty"`
	Keep            *int   `yaml:"keep,omitempty" json:"keep,omitempty"`
	AccessKeyID     string `yaml:"access_key_id,omitempty" json:"-"`
	SecretAccessKey string `yaml:"secret_access_key,omitempty" json:"-"`
	SessionToken    string `yaml:"session_token,omitempty" json:"-"`
}

// Remote is how offsite reaches the bucket.
func (o Offsite) Remote() offsite.Config {
	return offsite.Config{URL: o.URL, Endpoint: o.Endpoint, Region: o.Region,
		AccessKeyID: o.AccessKeyID, SecretAccessKey: o.SecretAccessKey, SessionToken: o.SessionToken}
}

// Notify is the webhook told when a scheduled or CI backup, verify or push
// fails (and, with on_success, when it succeeds). The URL is a secret.
//
//	notify:
//	  url: ${BACKUP_WEBHOOK_URL}
//	  format: slack    # or json
type Notify struct {
	URL       string `yaml:"url" json:"-"`
	Format    string `yaml:"format,omitempty" json:"format,omitempty"`
	OnSuccess bool   `yaml:"on_success,omitempty" json:"on_success,omitempty"`
}

// resolveFar resolves the settings of backups that leave the machine:
// encryption, offsite storage and notification, each from the first source
// that gives it (flag, variables, magefile, x-stevedore).
func (r resolver) resolveFar(s *Settings, flags, magefile Overrides, ext Extension) error {
	keys := os.Getenv("STEVEDORE_AGE_RECIPIENTS")
	var enc []string
	switch {
	case flags.Encryption != nil:
		enc, r.sources["encryption"] = flags.Encryption.Recipients, "flag"
	case strings.TrimSpace(keys) != "":
		enc, r.sources["encryption"] = strings.FieldsFunc(keys, func(c rune) bool { return c == ',' || c == '\n' }), "STEVEDORE_AGE_RECIPIENTS"
	case magefile.Encryption != nil:
		enc, r.sources["encryption"] = magefile.Encryption.Recipients, "magefile"
	case ext.Encryption != nil:
		enc, r.sources["encryption"] = slices.Clone(ext.Encryption.Recipients), ExtensionKey
		for i, e := range enc {
			if !strings.HasPrefix(e, "age1") && !strings.HasPrefix(e, "ssh-") {
				enc[i] = s.inDir(e) // a file of keys, beside the Compose files
			}
		}
	}
	// Parsed when a backup is taken: a typo in a key must not stop the
	// targets that take none (env:init, which shows the settings, first).
	s.Recipients = enc
	var err error

	off := firstOf(flags.Offsite, magefile.Offsite, ext.Offsite)
	if v := os.Getenv("STEVEDORE_OFFSITE_URL"); v != "" {
		off.URL = v
	}
	if v := firstEnv("STEVEDORE_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"); v != "" {
		off.Endpoint = v
	}
	if v := firstEnv("AWS_REGION", "AWS_DEFAULT_REGION"); v != "" {
		off.Region = v
	}
	if v := os.Getenv("STEVEDORE_OFFSITE_PUSH"); v != "" {
		if off.Push, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("STEVEDORE_OFFSITE_PUSH=%q: give true or false", v)
		}
	}
	if off.AccessKeyID == "" && off.SecretAccessKey == "" {
		off.AccessKeyID, off.SecretAccessKey, off.SessionToken = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")
	}
	if off.Keep != nil && *off.Keep < 0 {
		return fmt.Errorf("offsite: keep must be 0 or more, not %d", *off.Keep)
	}
	if off.URL != "" {
		s.Offsite = &off
		r.sources["offsite"] = sourceOf("STEVEDORE_OFFSITE_URL", flags.Offsite, magefile.Offsite)
	}

	hook := firstOf(flags.Notify, magefile.Notify, ext.Notify)
	if v := os.Getenv("STEVEDORE_WEBHOOK_URL"); v != "" {
		hook.URL = v
	}
	if v := os.Getenv("STEVEDORE_WEBHOOK_FORMAT"); v != "" {
		hook.Format = v
	}
	if v := os.Getenv("STEVEDORE_WEBHOOK_ON_SUCCESS"); v != "" {
		if hook.OnSuccess, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("STEVEDORE_WEBHOOK_ON_SUCCESS=%q: give true or false", v)
		}
	}
	if hook.URL != "" {
		s.Notify = &hook
		r.sources["notify"] = sourceOf("STEVEDORE_WEBHOOK_URL", flags.Notify, magefile.Notify)
	}
	return nil
}

// sourceOf says where a block's URL came from: its variable, a flag, the
// magefile, or else the x-stevedore block.
func sourceOf[T any](env string, flag, magefile *T) string {
	switch {
	case os.Getenv(env) != "":
		return env
	case flag != nil:
		return "flag"
	case magefile != nil:
		return "magefile"
	}
	return ExtensionKey
}

// firstOf is a copy of the first block given, or an empty one.
func firstOf[T any](blocks ...*T) T {
	for _, b := range blocks {
		if b != nil {
			return *b
		}
	}
	var zero T
	return zero
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
