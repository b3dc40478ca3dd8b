package pgbackup

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// dbState is what belongs to a database itself rather than to its
// contents, and so is not in a dump: owner, locale, privileges, settings,
// comment, connection limit. A swap gives the incoming database the live
// one's state, so a restore changes the data and nothing else.
type dbState struct {
	Name           string        `json:"name"`
	Owner          string        `json:"owner"`
	Encoding       string        `json:"encoding"`
	Collate        string        `json:"collate"`
	Ctype          string        `json:"ctype"`
	LocaleProvider string        `json:"locale_provider"` // c (libc), i (icu), b (builtin); "" before PostgreSQL 15
	Locale         string        `json:"locale"`          // the ICU or builtin locale
	ICURules       string        `json:"icu_rules"`       // PostgreSQL 16 and later
	Tablespace     string        `json:"tablespace"`
	ConnLimit      int           `json:"conn_limit"`
	AllowConn      bool          `json:"allow_conn"`
	Comment        *string       `json:"comment"`
	DefaultACL     bool          `json:"default_acl"` // datacl is NULL: the built-in privileges
	ACL            []aclItem     `json:"acl"`
	Settings       []roleSetting `json:"settings"`
}

type aclItem struct {
	Grantee   string `json:"grantee"` // PUBLIC for everyone
	Grantor   string `json:"grantor"`
	Privilege string `json:"privilege"` // CREATE, TEMPORARY or CONNECT
	Grantable bool   `json:"grantable"`
}

// roleSetting is ALTER DATABASE … SET (Role "") or ALTER ROLE … IN
// DATABASE … SET: "name=value" pairs as pg_db_role_setting stores them.
type roleSetting struct {
	Role   string   `json:"role"`
	Config []string `json:"config"`
}

// stateSelect reads databases' state, one row each, for serverQuery.
// Version-dependent columns are read through to_jsonb, so it runs on every
// supported PostgreSQL.
const stateSelect = `SELECT d.datname AS name, pg_get_userbyid(d.datdba) AS owner,
  pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype,
  coalesce(to_jsonb(d)->>'datlocprovider', '') AS locale_provider,
  coalesce(to_jsonb(d)->>'datlocale', to_jsonb(d)->>'daticulocale', '') AS locale,
  coalesce(to_jsonb(d)->>'daticurules', '') AS icu_rules,
  t.spcname AS tablespace, d.datconnlimit AS conn_limit, d.datallowconn AS allow_conn,
  shobj_description(d.oid, 'pg_database') AS comment, d.datacl IS NULL AS default_acl,
  (SELECT json_agg(json_build_object('grantee', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
      'grantor', pg_get_userbyid(a.grantor), 'privilege', a.privilege_type, 'grantable', a.is_grantable))
    FROM aclexplode(d.datacl) a) AS acl,
  (SELECT json_agg(json_build_object('role', CASE WHEN s.setrole = 0 THEN '' ELSE pg_get_userbyid(s.setrole) END, 'config', s.setconfig))
    FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) AS settings
FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace`

// createSQL creates an empty database name with what of st must be fixed
// when a database is created: owner, encoding, locale, tablespace.
func createSQL(name string, st dbState) string {
	q, lit := pgtarget.QuoteIdent, pgtarget.QuoteLiteral
	sql := fmt.Sprintf("CREATE DATABASE %s WITH TEMPLATE template0 OWNER %s ENCODING %s LC_COLLATE %s LC_CTYPE %s",
		q(name), q(st.Owner), lit(st.Encoding), lit(st.Collate), lit(st.Ctype))
	switch st.LocaleProvider {
	case "i":
		sql += " LOCALE_PROVIDER icu ICU_LOCALE " + lit(st.Locale)
		if st.ICURules != "" {
			sql += " ICU_RULES " + lit(st.ICURules)
		}
	case "b":
		sql += " LOCALE_PROVIDER builtin BUILTIN_LOCALE " + lit(st.Locale)
	}
	if st.Tablespace != "" && st.Tablespace != "pg_default" {
		sql += " TABLESPACE " + q(st.Tablespace)
	}
	return sql
}

// carrySQL returns the statements that give database target (whose state
// is now to) the state from has: owner, whether it accepts connections,
// connection limit, comment, privileges, and database and role-in-database
// settings. It returns nothing for what is already equal.
func carrySQL(target string, from, to dbState) []string {
	q, lit := pgtarget.QuoteIdent, pgtarget.QuoteLiteral
	var out []string
	if from.Owner != to.Owner {
		out = append(out, fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", q(target), q(from.Owner)))
	}
	if from.AllowConn != to.AllowConn {
		out = append(out, fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", q(target), from.AllowConn))
	}
	if from.ConnLimit != to.ConnLimit {
		out = append(out, fmt.Sprintf("ALTER DATABASE %s CONNECTION LIMIT %d", q(target), from.ConnLimit))
	}
	if !equalPtr(from.Comment, to.Comment) {
		c := "NULL"
		if from.Comment != nil {
			c = lit(*from.Comment)
		}
		out = append(out, fmt.Sprintf("COMMENT ON DATABASE %s IS %s", q(target), c))
	}
	out = append(out, carryACL(target, from, to)...)
	return append(out, carrySettings(target, from.Settings, to.Settings)...)
}

func equalPtr(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// privileges expands a state's ACL: a NULL datacl means the built-in
// privileges, all to the owner and CONNECT and TEMPORARY to PUBLIC.
func (st dbState) privileges() []aclItem {
	if !st.DefaultACL {
		items := slices.Clone(st.ACL)
		slices.SortFunc(items, func(a, b aclItem) int { return strings.Compare(a.key(), b.key()) })
		return items
	}
	var items []aclItem
	for _, p := range []string{"CONNECT", "CREATE", "TEMPORARY"} {
		items = append(items, aclItem{Grantee: st.Owner, Grantor: st.Owner, Privilege: p})
	}
	for _, p := range []string{"CONNECT", "TEMPORARY"} {
		items = append(items, aclItem{Grantee: "PUBLIC", Grantor: st.Owner, Privilege: p})
	}
	slices.SortFunc(items, func(a, b aclItem) int { return strings.Compare(a.key(), b.key()) })
	return items
}

func (a aclItem) key() string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%t", a.Grantee, a.Grantor, a.Privilege, a.Grantable)
}

// carryACL revokes every privilege target's state holds and grants from's,
// each by its own grantor, when the two differ.
func carryACL(target string, from, to dbState) []string {
	want, have := from.privileges(), to.privileges()
	if slices.Equal(want, have) {
		return nil
	}
	q := pgtarget.QuoteIdent
	grantees := map[string]bool{"PUBLIC": true, from.Owner: true}
	for _, a := range append(slices.Clone(have), want...) {
		grantees[a.Grantee] = true
	}
	var out []string
	for _, g := range slices.Sorted(maps.Keys(grantees)) {
		out = append(out, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM %s CASCADE", q(target), granteeSQL(g)))
	}
	for _, a := range grantOrder(want, from.Owner) {
		grant := fmt.Sprintf("GRANT %s ON DATABASE %s TO %s", a.Privilege, q(target), granteeSQL(a.Grantee))
		if a.Grantable {
			grant += " WITH GRANT OPTION"
		}
		if a.Grantor != from.Owner { // a superuser's grant is recorded as the owner's
			grant = fmt.Sprintf("SET LOCAL ROLE %s; %s; RESET ROLE", q(a.Grantor), grant)
		}
		out = append(out, grant)
	}
	return out
}

// grantOrder puts grants in an order their grantors can make them in: the
// owner's first, then each grant by a role once that role holds the
// privilege with grant option. What no order makes possible goes last, for
// the server to refuse with its own reason.
func grantOrder(items []aclItem, owner string) []aclItem {
	can := map[string]bool{}
	var out []aclItem
	for left := items; len(left) > 0; {
		var later []aclItem
		for _, a := range left {
			if a.Grantor != owner && !can[a.Grantor+"\x00"+a.Privilege] {
				later = append(later, a)
				continue
			}
			out = append(out, a)
			if a.Grantable {
				can[a.Grantee+"\x00"+a.Privilege] = true
			}
		}
		if len(later) == len(left) {
			return append(out, later...)
		}
		left = later
	}
	return out
}

func granteeSQL(g string) string {
	if g == "PUBLIC" {
		return g
	}
	return pgtarget.QuoteIdent(g)
}

// carrySettings resets target's settings and sets from's, when they differ.
func carrySettings(target string, from, to []roleSetting) []string {
	if slices.Equal(settingKeys(from), settingKeys(to)) {
		return nil
	}
	var out []string
	for _, s := range to {
		out = append(out, settingPrefix(target, s.Role)+" RESET ALL")
	}
	for _, s := range from {
		for _, kv := range s.Config {
			name, value, _ := strings.Cut(kv, "=")
			out = append(out, fmt.Sprintf("%s SET %s TO %s", settingPrefix(target, s.Role), pgtarget.QuoteIdent(name), settingValue(name, value)))
		}
	}
	return out
}

func settingKeys(s []roleSetting) []string {
	var keys []string
	for _, r := range s {
		for _, kv := range r.Config {
			keys = append(keys, r.Role+"\x00"+kv)
		}
	}
	slices.Sort(keys)
	return keys
}

func settingPrefix(target, role string) string {
	if role == "" {
		return "ALTER DATABASE " + pgtarget.QuoteIdent(target)
	}
	return fmt.Sprintf("ALTER ROLE %s IN DATABASE %s", pgtarget.QuoteIdent(role), pgtarget.QuoteIdent(target))
}

// listQuoted are the settings whose stored value is a list of quoted
// elements (pg_dump's variable_is_guc_list_quote).
var listQuoted = map[string]bool{"local_preload_libraries": true, "search_path": true, "session_preload_libraries": true,
	"shared_preload_libraries": true, "temp_tablespaces": true, "unix_socket_directories": true}

// settingValue turns a stored value back into SQL the way pg_dump does: a
// list setting's elements each as a literal, anything else as one literal.
func settingValue(name, value string) string {
	if !listQuoted[strings.ToLower(name)] {
		return pgtarget.QuoteLiteral(value)
	}
	elems := splitGUCList(value)
	for i, e := range elems {
		elems[i] = pgtarget.QuoteLiteral(e)
	}
	if len(elems) == 0 {
		return "''"
	}
	return strings.Join(elems, ", ")
}

// splitGUCList splits a list setting's stored value at commas: elements may
// be double-quoted, with "" for a quote; whitespace around them is dropped.
func splitGUCList(v string) []string {
	var out []string
	i := 0
	for {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i >= len(v) {
			return out
		}
		var b strings.Builder
		if v[i] == '"' {
			for i++; i < len(v); i++ {
				if v[i] == '"' {
					if i+1 < len(v) && v[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					i++
					break
				}
				b.WriteByte(v[i])
			}
		} else {
			for ; i < len(v) && v[i] != ',' && v[i] != ' ' && v[i] != '\t'; i++ {
				b.WriteByte(v[i])
			}
		}
		out = append(out, b.String())
		for i < len(v) && v[i] != ',' {
			i++
		}
		i++ // the comma
	}
}
