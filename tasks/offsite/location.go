// Package offsite keeps backups in S3-compatible object storage (AWS S3,
// MinIO, Cloudflare R2, Backblaze B2, …) through minio-go: push, pull, list
// and delete, streamed in parts with constant memory. A backup there is what
// it is in the folder: a data object and its record, the record written
// last, so an interrupted push leaves nothing that lists as a backup; what
// arrives is checked against the record's sha256 before it is kept.
package offsite

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Location is a bucket and the prefix backups live under.
type Location struct {
	Bucket string
	Prefix string // "" or "a/b", without slashes at either end
}

func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// Key is the object key of file under the prefix.
func (l Location) Key(file string) string {
	if l.Prefix == "" {
		return file
	}
	return l.Prefix + "/" + file
}

// bucketPattern is S3's rule for bucket names (lower case, digits, '.', '-').
var bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseURL reads s3://bucket[/prefix].
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		// Not quoted: what stands before the @ is a key.
		return Location{}, fmt.Errorf("offsite url: credentials may not be written in it; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("offsite url %q: give s3://bucket or s3://bucket/prefix", raw)
	}
	if !bucketPattern.MatchString(u.Host) || strings.Contains(u.Host, "..") {
		return Location{}, fmt.Errorf("offsite url %q: %q is not a bucket name (3 to 63 lower-case letters, digits, '.' and '-')", raw, u.Host)
	}
	prefix := strings.Trim(u.Path, "/")
	for _, part := range strings.Split(prefix, "/") {
		if prefix != "" && (part == "" || part == "." || part == "..") {
			return Location{}, fmt.Errorf("offsite url %q: the prefix may not hold empty, '.' or '..' parts", raw)
		}
	}
	return Location{Bucket: u.Host, Prefix: prefix}, nil
}

// Endpoint is where the S3 API answers.
type Endpoint struct {
	Host   string // host[:port]
	Secure bool   // https
}

// ParseEndpoint reads an endpoint URL (https://host[:port], http:// for a
// local server) or a bare host (https). None given is AWS S3.
func ParseEndpoint(raw string) (Endpoint, error) {
	if raw == "" {
		return Endpoint{Host: "s3.amazonaws.com", Secure: true}, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return Endpoint{}, fmt.Errorf("offsite endpoint: credentials may not be written in it; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return Endpoint{}, fmt.Errorf("offsite endpoint %q: give https://host[:port] (http:// only for a server on this machine or network)", raw)
	}
	return Endpoint{Host: u.Host, Secure: u.Scheme == "https"}, nil
}
