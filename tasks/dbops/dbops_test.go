package dbops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
)

var at = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

func entries() []store.Entry {
	return []store.Entry{
		{Name: "backup_20261123_093000", Path: "/b/backup_20261123_093000.sql.zst", When: at, Size: 14_200_000, Record: &store.Record{
			Format: store.FormatPlainZstd, Database: "app", ServerVersion: "15.18 (Debian)", SHA256: "abc",
			Tables: []dumpscan.Table{{Name: "public.t", Rows: 7}, {Name: "public.u", Rows: 3}},
			Verify: &store.Verification{At: at, OK: false, Detail: "checksum"},
		}},
		{Name: "old", Path: "/b/old.sql.zip", When: at.Add(-time.Hour), Size: 10, Legacy: ".sql.zip"},
	}
}

func TestMenuAndChoice(t *testing.T) {
	menu := Menu(entries())
	assert.Contains(t, menu, " 1  backup_20261123_093000")
	assert.Contains(t, menu, "(failed verification)")
	assert.Contains(t, menu, " 2  old")
	assert.Contains(t, menu, "(old script's .sql.zip)")
	assert.Contains(t, menu, " 0  cancel")

	tests := []struct {
		input   string
		want    string
		wantErr error
	}{
		{"2\n", "old", nil},
		{"x\n9\n-1\n 1 \n", "backup_20261123_093000", nil},
		{"0\n", "", ErrCancelled},
		{"", "", ErrCancelled},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		got, err := AskChoice(strings.NewReader(tt.input), &out, entries())
		assert.Equal(t, tt.wantErr, err, "%q", tt.input)
		assert.Equal(t, tt.want, got.Name, "%q", tt.input)
	}
}

func TestConfirm(t *testing.T) {
	for input, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "\n": false, "": false, "yep\n": false} {
		ok, err := confirm(strings.NewReader(input), &bytes.Buffer{}, "? ")
		require.NoError(t, err)
		assert.Equal(t, want, ok, "%q", input)
	}
}

func TestListingJSONSchema(t *testing.T) {
	kept := []pgbackup.Kept{{Name: "app__before_20261123_093000", At: at, Size: 42}}
	data, err := json.Marshal(BuildListing("/b", entries(), "app", kept))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	assert.EqualValues(t, 1, doc["version"])
	backups := doc["backups"].([]any)
	require.Len(t, backups, 2)
	ours := backups[0].(map[string]any)
	for _, k := range []string{"name", "file", "created_at", "size", "format", "database", "server_version", "sha256", "tables", "rows", "verified"} {
		assert.Contains(t, ours, k)
	}
	assert.EqualValues(t, 10, ours["rows"])
	assert.Equal(t, false, ours["verified"].(map[string]any)["ok"])
	legacy := backups[1].(map[string]any)
	assert.Equal(t, "legacy .sql.zip", legacy["format"])
	assert.Nil(t, legacy["verified"], "never verified is null")

	ke := doc["kept"].([]any)[0].(map[string]any)
	assert.Equal(t, "app__before_20261123_093000", ke["name"])
	assert.Equal(t, "app", ke["database"])
	assert.EqualValues(t, 42, ke["size"])
	assert.Equal(t, "2026-11-23T09:30:00Z", ke["kept_at"])

	empty, err := json.Marshal(BuildListing("/b", nil, "app", []pgbackup.Kept{}))
	require.NoError(t, err)
	assert.Contains(t, string(empty), `"backups":[]`, "an empty folder is an empty list, not null")
	assert.Contains(t, string(empty), `"kept":[]`)
	unknown, err := json.Marshal(BuildListing("/b", nil, "", nil))
	require.NoError(t, err)
	assert.Contains(t, string(unknown), `"kept":null`, "null: the database could not be asked")
}

func TestTableMarksVerification(t *testing.T) {
	var out bytes.Buffer
	writeTable(&out, entries())
	assert.Contains(t, out.String(), "FAILED")
	assert.Contains(t, out.String(), "old script's .sql.zip")
	assert.Contains(t, out.String(), "15.18 ")
}

// A restore whose swap may or may not have committed never says the
// database was not changed, and points at what shows which it is.
func TestRestoreErrorNeverClaimsAnUnknownSwapChangedNothing(t *testing.T) {
	lost := errors.New("server closed the connection unexpectedly")
	unknown := &RestoreError{Err: &pgbackup.SwapUnknownError{Database: "app", Incoming: "stevedore_restore_x", Err: lost}, Name: "b1", Flags: " -kube"}
	assert.NotContains(t, unknown.Error(), "not changed")
	assert.Contains(t, unknown.Error(), "database app is either as it was or what was stevedore_restore_x")
	assert.Equal(t, "go tool mage db:list -kube", unknown.Next())

	interrupted := &RestoreError{Err: fmt.Errorf("load: %w", context.Canceled), Name: "b1"}
	assert.Equal(t, "interrupted; the database was not changed", interrupted.Error())

	failed := &RestoreError{Err: lost, Name: "b1", Flags: " -container=db"}
	assert.Contains(t, failed.Error(), "the database was not changed")
	assert.Equal(t, "go tool mage db:restore -name=b1 -container=db", failed.Next())
}
