package offsite

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/minio/minio-go/v7"
)

// AccessError is the endpoint refusing the credentials or the bucket.
type AccessError struct {
	Where string // s3://bucket/prefix at host
	Code  string // S3's error code
}

func (e *AccessError) Error() string {
	switch e.Code {
	case "NoSuchBucket":
		return fmt.Sprintf("%s: the bucket does not exist (create it, or fix offsite.url)", e.Where)
	case "AccessDenied":
		return fmt.Sprintf("%s: access denied: the credentials may not use this bucket", e.Where)
	}
	return fmt.Sprintf("%s: the endpoint refused the credentials (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", e.Where, e.Code)
}

// Next is the command that shows the offsite settings.
func (e *AccessError) Next() string { return "go tool mage env:init" }

// UnreachableError is an endpoint that does not answer.
type UnreachableError struct {
	Where string
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s: cannot reach the endpoint: %v", e.Where, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NotFoundError is a backup the bucket does not hold.
type NotFoundError struct{ Name, Where string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no backup %s in %s", e.Name, e.Where)
}

// Next lists what the bucket holds.
func (e *NotFoundError) Next() string { return "go tool mage db:list -remote" }

// IntegrityError is bytes that are not those the record describes.
type IntegrityError struct {
	Name, Where string // where the bad bytes were: "the bucket" or the local file
	Want, Got   string
	Size        int64
	WantSize    int64
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("backup %s in %s does not match its record (sha256 %.12s…, %d bytes; record says %.12s…, %d bytes): nothing was kept",
		e.Name, e.Where, e.Got, e.Size, e.Want, e.WantSize)
}

// ExistsError is a pull onto a backup the folder already has.
type ExistsError struct{ Name string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("backup %s is already in the backup folder", e.Name)
}

// classify turns what minio-go returned into one of the errors above, in
// one line, without credentials.
func classify(where string, err error) error {
	if err == nil {
		return nil
	}
	var uerr *url.Error
	var nerr net.Error
	if errors.As(err, &uerr) || errors.As(err, &nerr) {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op
		}
		return &UnreachableError{Where: where, Err: err}
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket", "InvalidToken", "ExpiredToken":
		return &AccessError{Where: where, Code: resp.Code}
	}
	return fmt.Errorf("%s: %w", where, err)
}

// ConflictError is a different backup under the same name.
type ConflictError struct{ Name, Where string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s holds another backup named %s (other bytes): rename one of them", e.Where, e.Name)
}

// damagedRecordError is a record that does not parse or describe its name.
type damagedRecordError struct{ Name, Where string }

func (e *damagedRecordError) Error() string {
	return fmt.Sprintf("the record of %s in %s is damaged", e.Name, e.Where)
}
