package pgbackup

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a scratch database beside the live one is for.
type Role string

// Roles of the scratch databases stevedore makes beside the live one.
const (
	roleRestore Role = "restore"
	roleVerify  Role = "verify"
	// roleRollback is the copy of a snapshot a rollback that keeps it
	// renames in.
	roleRollback Role = "rollback"
	// roleOld is where stevedore before 2026-11 parked the live database
	// during a swap; one left by a crash is recognised as a kept database.
	roleOld Role = "old"
)

// maxIdent is PostgreSQL's longest identifier, in bytes.
const maxIdent = 63

// ScratchName names the database with role beside live. PostgreSQL cuts
// identifiers at 63 bytes, so a name built by appending to live could
// collide with live itself; this one is short and fixed in length, and a
// hash keeps the scratch databases of different live ones apart.
func ScratchName(live string, role Role) string {
	return "stevedore_" + string(role) + "_" + shortHash(live)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// keptTag and the time after it mark the previous database a restore keeps.
const (
	keptTag     = "__before_"
	stampLayout = "20060102_150405"
)

// KeptName names the previous database that a restore at time at keeps:
// app__before_20261123_175850, in UTC, so that names sort as times whatever
// the clocks' zones and summer time. A live name too long for that is cut
// and given a hash, so the name stays unique and within 63 bytes.
func KeptName(live string, at time.Time) string {
	return keptPrefix(live) + at.UTC().Format(stampLayout)
}

func keptPrefix(live string) string { return tagPrefix(live, keptTag, len(stampLayout)) }

// tagPrefix is live followed by tag, leaving room bytes for what follows
// within PostgreSQL's 63. A live name too long for that is cut and given a
// hash, so names of different live databases stay apart.
func tagPrefix(live, tag string, room int) string {
	if len(live)+len(tag)+room <= maxIdent {
		return live + tag
	}
	h := shortHash(live)
	cut := live[:maxIdent-len(tag)-room-1-len(h)]
	for !utf8.ValidString(cut) { // never split a character
		cut = cut[:len(cut)-1]
	}
	return cut + "_" + h + tag
}

// KeptTime tells whether name is a previous database of live that a
// restore kept, and when. The time is zero for one an earlier stevedore
// left (its name has none).
func KeptTime(name, live string) (time.Time, bool) {
	if name == ScratchName(live, roleOld) {
		return time.Time{}, true
	}
	stamp, ok := strings.CutPrefix(name, keptPrefix(live))
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(stampLayout, stamp, time.UTC)
	return t, err == nil
}
