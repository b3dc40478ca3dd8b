package pgbackup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

func ptr(s string) *string { return &s }

func TestCarrySQL(t *testing.T) {
	fresh := dbState{Owner: "app_owner", DefaultACL: true, ConnLimit: -1, AllowConn: true}
	live := dbState{
		Owner: "app_owner", ConnLimit: 50, Comment: ptr("the shop's data"), AllowConn: true,
		ACL: []aclItem{
			{Grantee: "app_owner", Grantor: "app_owner", Privilege: "CONNECT"},
			{Grantee: "app_ro", Grantor: "zed", Privilege: "CONNECT"}, // zed's grant needs zed's grant option first
			{Grantee: "zed", Grantor: "app_owner", Privilege: "CONNECT", Grantable: true},
		},
		Settings: []roleSetting{
			{Role: "", Config: []string{`search_path=public, "My Schema"`, "work_mem=8MB"}},
			{Role: "app_ro", Config: []string{"statement_timeout=5s"}},
		},
	}
	got := carrySQL("stevedore_restore_x", live, fresh)
	assert.Equal(t, []string{
		`ALTER DATABASE "stevedore_restore_x" CONNECTION LIMIT 50`,
		`COMMENT ON DATABASE "stevedore_restore_x" IS 'the shop''s data'`,
		`REVOKE ALL ON DATABASE "stevedore_restore_x" FROM PUBLIC CASCADE`,
		`REVOKE ALL ON DATABASE "stevedore_restore_x" FROM "app_owner" CASCADE`,
		`REVOKE ALL ON DATABASE "stevedore_restore_x" FROM "app_ro" CASCADE`,
		`REVOKE ALL ON DATABASE "stevedore_restore_x" FROM "zed" CASCADE`,
		`GRANT CONNECT ON DATABASE "stevedore_restore_x" TO "app_owner"`,
		`GRANT CONNECT ON DATABASE "stevedore_restore_x" TO "zed" WITH GRANT OPTION`,
		`SET LOCAL ROLE "zed"; GRANT CONNECT ON DATABASE "stevedore_restore_x" TO "app_ro"; RESET ROLE`,
		`ALTER DATABASE "stevedore_restore_x" SET "search_path" TO 'public', 'My Schema'`,
		`ALTER DATABASE "stevedore_restore_x" SET "work_mem" TO '8MB'`,
		`ALTER ROLE "app_ro" IN DATABASE "stevedore_restore_x" SET "statement_timeout" TO '5s'`,
	}, got)

	assert.Empty(t, carrySQL("x", live, live), "nothing to do between equal states")
	def := dbState{Owner: "o", DefaultACL: true}
	explicit := dbState{Owner: "o", ACL: def.privileges()}
	assert.Equal(t, []aclItem{{Grantee: "x", Grantor: "y", Privilege: "CONNECT"}},
		grantOrder([]aclItem{{Grantee: "x", Grantor: "y", Privilege: "CONNECT"}}, "o"), "what no order allows still goes, for the server to explain")
	assert.Empty(t, carrySQL("x", def, explicit), "the built-in privileges, spelled out, are the same")

	// Undo: the incoming database's own settings and comment are replaced;
	// one an earlier stevedore parked refuses connections, the live one not.
	stale := dbState{Owner: "other", ConnLimit: -1, DefaultACL: true, Comment: ptr("old"),
		Settings: []roleSetting{{Role: "bob", Config: []string{"work_mem=1MB"}}}}
	got = carrySQL("k", dbState{Owner: "o", ConnLimit: -1, DefaultACL: true, AllowConn: true}, stale)
	assert.Equal(t, []string{
		`ALTER DATABASE "k" OWNER TO "o"`,
		`ALTER DATABASE "k" WITH ALLOW_CONNECTIONS true`,
		`COMMENT ON DATABASE "k" IS NULL`,
		`REVOKE ALL ON DATABASE "k" FROM PUBLIC CASCADE`,
		`REVOKE ALL ON DATABASE "k" FROM "o" CASCADE`,
		`REVOKE ALL ON DATABASE "k" FROM "other" CASCADE`,
		`GRANT CONNECT ON DATABASE "k" TO PUBLIC`,
		`GRANT TEMPORARY ON DATABASE "k" TO PUBLIC`,
		`GRANT CONNECT ON DATABASE "k" TO "o"`,
		`GRANT CREATE ON DATABASE "k" TO "o"`,
		`GRANT TEMPORARY ON DATABASE "k" TO "o"`,
		`ALTER ROLE "bob" IN DATABASE "k" RESET ALL`,
	}, got)
}

func TestSettingValueQuotesListsLikePgDump(t *testing.T) {
	tests := map[[2]string]string{
		{"work_mem", "8MB"}:                           `'8MB'`,
		{"app.tenant", "it's"}:                        `'it''s'`,
		{"search_path", `"$user", public`}:            `'$user', 'public'`,
		{"search_path", `a,"b ""c"", d",e`}:           `'a', 'b "c", d', 'e'`,
		{"search_path", `""`}:                         `''`,
		{"SEARCH_PATH", `x`}:                          `'x'`,
		{"temp_tablespaces", ""}:                      `''`,
		{"default_text_search_config", "a, b"}:        `'a, b'`,
		{"session_preload_libraries", "auto_explain"}: `'auto_explain'`,
	}
	for in, want := range tests {
		assert.Equal(t, want, settingValue(in[0], in[1]), "%v", in)
	}
}

func TestCreateSQLKeepsTheLiveDatabasesLocale(t *testing.T) {
	st := dbState{Owner: "o", Encoding: "UTF8", Collate: "en_US.utf8", Ctype: "en_US.utf8"}
	assert.Equal(t, `CREATE DATABASE "s" WITH TEMPLATE template0 OWNER "o" ENCODING 'UTF8' LC_COLLATE 'en_US.utf8' LC_CTYPE 'en_US.utf8'`, createSQL("s", st))
	st.LocaleProvider, st.Locale, st.ICURules, st.Tablespace = "i", "de-DE", "&a<b", "fast"
	assert.Equal(t, `CREATE DATABASE "s" WITH TEMPLATE template0 OWNER "o" ENCODING 'UTF8' LC_COLLATE 'en_US.utf8' LC_CTYPE 'en_US.utf8'`+
		` LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' ICU_RULES '&a<b' TABLESPACE "fast"`, createSQL("s", st))
	st.LocaleProvider, st.ICURules, st.Tablespace = "b", "", "pg_default"
	assert.True(t, strings.HasSuffix(createSQL("s", st), ` LOCALE_PROVIDER builtin BUILTIN_LOCALE 'de-DE'`))
}

func TestKeptNames(t *testing.T) {
	at := time.Date(2026, 11, 23, 17, 58, 50, 0, time.UTC)
	assert.Equal(t, "app__before_20261123_175850", KeptName("app", at))
	assert.Equal(t, KeptName("app", at), KeptName("app", at.In(time.FixedZone("CET", 3600))), "in UTC, whatever the zone")
	for _, live := range []string{"app", strings.Repeat("l", 63), strings.Repeat("é", 31), "a__before_x"} {
		name := KeptName(live, at)
		assert.LessOrEqual(t, len(name), 63, live)
		assert.True(t, utf8Valid(name), live)
		got, ok := KeptTime(name, live)
		assert.True(t, ok, live)
		assert.True(t, at.Equal(got), live)
		assert.NotEqual(t, live, name)
	}
	_, ok := KeptTime("app__before_20261123_175850", "shop")
	assert.False(t, ok, "another database's")
	_, ok = KeptTime("app", "app")
	assert.False(t, ok)
	_, ok = KeptTime(ScratchName("app", roleOld), "app")
	assert.True(t, ok, "an earlier stevedore's parked database counts as kept")
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func TestPlanRepair(t *testing.T) {
	dead := func(app string) bool { return strings.HasSuffix(app, ":dead") }
	at := func(h int) string { return KeptName("app", time.Date(2026, 11, 23, h, 0, 0, 0, time.UTC)) }
	dbs := []dbInfo{
		{Name: "app", AllowConn: false},
		{Name: "postgres", AllowConn: true},
		{Name: ScratchName("app", roleRestore), Sessions: []string{"stevedore host:dead"}},
		{Name: ScratchName("app", roleVerify), Sessions: []string{"stevedore host:alive"}},
		{Name: ScratchName("shop", roleRestore)}, // another database's: not ours to touch
		{Name: at(9)},
		{Name: at(11)},
		{Name: at(10), Sessions: []string{"psql"}},
		{Name: ScratchName("app", roleOld)},
	}
	p := planRepair("app", dbs, "", dead)
	assert.True(t, p.allowConnections, "an earlier stevedore's scratch database shows who refused connections")
	var dropped []string
	for _, d := range p.drop {
		dropped = append(dropped, d.name)
	}
	assert.ElementsMatch(t, []string{ScratchName("app", roleRestore), at(9), ScratchName("app", roleOld)}, dropped,
		"the dead run's scratch, and all kept but the newest that no one uses")
	assert.Len(t, p.busy, 2, "a live run's scratch and a kept database someone reads are left alone: %v", p.busy)

	clean := planRepair("app", []dbInfo{{Name: "app", AllowConn: true}, {Name: at(9)}}, "", dead)
	assert.False(t, clean.allowConnections)
	assert.Empty(t, clean.drop, "one kept database is the undo, not a leftover")

	deliberate := planRepair("app", []dbInfo{{Name: "app", AllowConn: false}}, "", dead)
	assert.False(t, deliberate.allowConnections, "without a mark of stevedore, refusing connections is the user's choice")

	other := planRepair("app", dbs, "stevedore otherhost:12", dead)
	assert.Empty(t, other.drop, "another run holds the run lock: nothing is touched")
	assert.False(t, other.allowConnections)
	assert.Len(t, other.busy, 1)
}

func TestSwapScriptIsOneTransaction(t *testing.T) {
	s := swapScript("app", "stevedore_restore_x", "app__before_1", true, []string{"COMMENT ON DATABASE x IS 'y'"})
	assert.True(t, strings.HasPrefix(s, "BEGIN;\n"))
	assert.True(t, strings.HasSuffix(s, "COMMIT;"))
	assert.Less(t, strings.Index(s, "COMMENT"), strings.Index(s, "pg_terminate_backend"))
	assert.Less(t, strings.Index(s, "pg_terminate_backend"), strings.Index(s, `RENAME TO "app__before_1"`))
	assert.Less(t, strings.Index(s, `RENAME TO "app__before_1"`), strings.Index(s, `"stevedore_restore_x" RENAME TO "app"`))
	assert.NotContains(t, s, "ALLOW_CONNECTIONS", "nothing commits on its own")

	gone := swapScript("app", "app__before_1", "unused", false, nil)
	assert.NotContains(t, gone, `RENAME TO "unused"`, "no live database: only the kept one is renamed back")
}

func TestBadBackupTellsTheBackupFromTheEnvironment(t *testing.T) {
	script := pgtarget.ParseExit("psql", 3, "psql:/io/stream:9: ERROR:  22P02: invalid input syntax for type integer\n")
	diskFull := pgtarget.ParseExit("psql", 3, "psql:/io/stream:9: ERROR:  53100: could not extend file: No space left on device\n")
	tests := []struct {
		err error
		bad bool
	}{
		{&ChecksumError{Name: "b"}, true},
		{&IncompleteDumpError{Bytes: 10}, true},
		{&MismatchError{Diffs: []string{"x"}}, true},
		{fmt.Errorf("restore of b stopped: %w", &dumpscan.RefusedError{Line: 3, Why: "CREATE ROLE"}), true},
		{fmt.Errorf("restore of b stopped: %w", script), true},
		{fmt.Errorf("restore of b stopped: %w", diskFull), false},
		{pgtarget.ParseExit("psql", 137, ""), false},
		{context.Canceled, false},
		{fmt.Errorf("wrapped: %w", context.Canceled), false},
		{&pgtarget.UnavailableError{Msg: "database container db stopped"}, false},
		{errors.New("Docker engine not reachable"), false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.bad, BadBackup(tt.err), "%v", tt.err)
	}
}

// A rename refused because a client reconnected is retried: psql's error
// must carry its SQLSTATE for that.
func TestInUseIsRecognised(t *testing.T) {
	err := fmt.Errorf("swap: %w", pgtarget.ParseExit("psql", 1, "ERROR:  55006: database \"app\" is being accessed by other users\nDETAIL:  There is 1 other session using the database.\n"))
	assert.True(t, inUse(err))
	assert.False(t, inUse(pgtarget.ParseExit("psql", 1, "ERROR:  42601: syntax error\n")))
}
