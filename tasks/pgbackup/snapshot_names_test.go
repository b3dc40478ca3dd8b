package pgbackup

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSnapshotNamesRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	assert.Equal(t, "app__snap_20261124_101500", SnapshotDB("app", at, ""))
	assert.Equal(t, "app__snap_20261124_101500_before-migrate", SnapshotDB("app", at, "before-migrate"))
	for _, live := range []string{"app", strings.Repeat("l", 63), strings.Repeat("é", 31), "a__snap_x"} {
		for _, label := range []string{"", "x", strings.Repeat("z", maxLabel), ReplacedLabel} {
			name := SnapshotDB(live, at, label)
			assert.LessOrEqual(t, len(name), 63, "%s %s", live, label)
			assert.True(t, utf8Valid(name), live)
			s, ok := snapshotOf(name, live)
			assert.True(t, ok, name)
			assert.True(t, at.Equal(s.At), name)
			want := label
			if label == "" {
				want = "20261124-101500"
			}
			assert.Equal(t, want, s.Name)
			_, kept := KeptTime(name, live)
			assert.False(t, kept, "a snapshot is never taken for a restore's kept database")
			assert.NotEqual(t, live, name)
		}
	}
	for _, name := range []string{"app", "app__snap_", "app__snap_2026", "app__snap_20261124_101500x", "app__snap_20261124_101500_", "shop__snap_20261124_101500", KeptName("app", at)} {
		_, ok := snapshotOf(name, "app")
		assert.False(t, ok, name)
	}
}

func TestValidLabel(t *testing.T) {
	for _, ok := range []string{"before-migrate", "v1.2", "a", "x_y", strings.Repeat("a", maxLabel)} {
		assert.NoError(t, ValidLabel(ok), ok)
	}
	for _, bad := range []string{"", "-x", ".x", "a b", "../x", "a/b", "é", strings.Repeat("a", maxLabel+1), "20261124-101500", ReplacedLabel} {
		assert.Error(t, ValidLabel(bad), bad)
	}
}

func TestFindSnapshot(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	list := []Snapshot{ // newest first
		{Name: ReplacedLabel, At: at.Add(3 * time.Minute)},
		{Name: "before-migrate", At: at.Add(2 * time.Minute)},
		{Name: "mine", At: at.Add(time.Minute)},
		{Name: "before-migrate", At: at},
	}
	got, ok := FindSnapshot(list, "", false)
	assert.True(t, ok)
	assert.Equal(t, list[1], got, "the newest that a rollback did not replace")
	got, _ = FindSnapshot(list, "before-migrate", false)
	assert.Equal(t, list[1], got, "the newest of that name")
	got, _ = FindSnapshot(list, "mine", false)
	assert.Equal(t, list[2], got)
	got, ok = FindSnapshot(list, "", true)
	assert.True(t, ok)
	assert.Equal(t, list[0], got, "undo brings back what the last rollback replaced")
	_, ok = FindSnapshot(list, "nope", false)
	assert.False(t, ok)
	_, ok = FindSnapshot(list[1:], "", true)
	assert.False(t, ok, "nothing to undo")
	_, ok = FindSnapshot(list[:1], "", false)
	assert.False(t, ok, "only a replaced state: nothing to roll back to")
}
