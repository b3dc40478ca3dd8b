package dumpscan

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const dump = `--
-- PostgreSQL database dump
--

\restrict K3y

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET standard_conforming_strings = on;
CREATE TABLE public.t (id integer, note text);
CREATE TABLE "Odd Schema"."tä ""quoted"" (x)" (v integer);

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: app
--

CREATE FUNCTION public.f() RETURNS text
    LANGUAGE plpgsql
    AS $_$
BEGIN
COPY phantom FROM stdin;
RETURN 'x';
END
$_$;

CREATE FUNCTION public.g() RETURNS integer
    LANGUAGE sql
    BEGIN ATOMIC
 SELECT 1;
 SELECT CASE WHEN true THEN 2 END;
END;

/* a comment: COPY nested /* inner */ FROM stdin; */
-- COPY in_comment FROM stdin;
SELECT 'a string
COPY in_string FROM stdin;
', E'it\'s
COPY in_escape FROM stdin;
';

COPY public.t (id, note) FROM stdin;
1	one
2	a \\. that is data
3	\N
\.

COPY "Odd Schema"."tä ""quoted"" (x)" (v) FROM stdin;
\.

COPY public.empty_cols  FROM stdin;


\.

SELECT pg_catalog.lo_create('16401');
SELECT pg_catalog.lo_create('16402');

--
-- PostgreSQL database dump complete
--

\unrestrict K3y

`

func scan(chunks ...string) *Scanner {
	var s Scanner
	for _, c := range chunks {
		_, _ = s.Write([]byte(c))
	}
	return &s
}

func TestScannerCountsRowsTablesAndLargeObjects(t *testing.T) {
	s := scan(dump)
	assert.Equal(t, []Table{
		{Name: "public.t", Rows: 3},
		{Name: `"Odd Schema"."tä ""quoted"" (x)"`, Rows: 0},
		{Name: "public.empty_cols", Rows: 2},
	}, s.Tables(), "only real COPY statements start data: not in a function body, a string or a comment")
	assert.EqualValues(t, 2, s.LargeObjects())
	assert.Equal(t, "15.18 (Debian 15.18-0+deb12u1)", s.ServerVersion())
	assert.EqualValues(t, len(dump), s.Bytes())
	assert.True(t, s.Complete())
}

// A stream arrives in pieces of any size: every split gives the same answer,
// and a guard forwards the same bytes.
func TestScannerIsIndependentOfChunking(t *testing.T) {
	want := scan(dump)
	for size := 1; size <= len(dump); size++ {
		var chunks []string
		for i := 0; i < len(dump); i += size {
			chunks = append(chunks, dump[i:min(i+size, len(dump))])
		}
		got := scan(chunks...)
		if !assert.Equal(t, want.Tables(), got.Tables(), "chunk size %d", size) ||
			!assert.Equal(t, want.Complete(), got.Complete(), "chunk size %d", size) ||
			!assert.Equal(t, withoutRestrict(dump), guarded(t, chunks...), "chunk size %d", size) {
			return
		}
	}
}

// withoutRestrict is a script without its \restrict and \unrestrict lines,
// which a guard leaves out (it refuses what they guard against itself).
func withoutRestrict(script string) string {
	return regexp.MustCompile(`(?m)^\\(un)?restrict [A-Za-z0-9]+\r?$`).ReplaceAllString(script, "")
}

// guarded returns what a guard forwards of the chunks.
func guarded(t *testing.T, chunks ...string) string {
	t.Helper()
	var out bytes.Buffer
	g := NewGuard(&out)
	for _, c := range chunks {
		_, err := g.Write([]byte(c))
		require.NoError(t, err)
	}
	require.NoError(t, g.Close())
	return out.String()
}

func TestScannerSpotsATruncatedDump(t *testing.T) {
	cut := strings.Index(dump, "3\t\\N")
	tests := map[string]string{
		"cut inside a COPY block":  dump[:cut],
		"cut mid-line":             dump[:len(dump)-30],
		"no trailer":               dump[:strings.Index(dump, "--\n-- PostgreSQL database dump complete")],
		"no unrestrict":            strings.Replace(dump, "\\unrestrict K3y", "", 1),
		"wrong unrestrict key":     strings.Replace(dump, "\\unrestrict K3y", "\\unrestrict other", 1),
		"cut in the last line":     strings.TrimRight(dump, "y\n"),
		"cut inside a dollar body": dump[:strings.Index(dump, "RETURN 'x'")] + "\n" + Trailer + "\n",
		"empty":                    "",
	}
	for name, stream := range tests {
		t.Run(name, func(t *testing.T) {
			assert.False(t, scan(stream).Complete())
		})
	}
}

// Files written on Windows end their lines with CRLF: still whole, still counted.
func TestScannerReadsCRLFDumps(t *testing.T) {
	crlf := strings.ReplaceAll(dump, "\n", "\r\n")
	s := scan(crlf)
	assert.Equal(t, scan(dump).Tables(), s.Tables())
	assert.True(t, s.Complete())
	assert.Equal(t, "15.18 (Debian 15.18-0+deb12u1)", s.ServerVersion())
}

func TestScannerCountsInsertStatements(t *testing.T) {
	s := scan(`SET standard_conforming_strings = on;
INSERT INTO public.item VALUES (1, 'a; b');
INSERT INTO public.item VALUES (2, 'INSERT INTO public.other VALUES (9);');
INSERT INTO public."Other" (id) VALUES (1), (2);
INSERT INTO public.item VALUES (3, $$x$$);
`)
	assert.Equal(t, []Table{{Name: "public.item", Rows: 3}, {Name: `public."Other"`, Rows: 1}}, s.Inserts())
	assert.Empty(t, s.Tables())
}

func TestScannerMemoryStaysBoundedOnHugeLines(t *testing.T) {
	var s Scanner
	huge := "SELECT pg_catalog.lowrite(0, '" + strings.Repeat("ab", 200_000) + "');\n"
	_, _ = s.Write([]byte(huge))
	_, _ = s.Write([]byte("COPY public.x (a) FROM stdin;\n" + strings.Repeat("z", 3<<20) + "\n\\.\n" + Trailer + "\n"))
	assert.LessOrEqual(t, cap(s.head), 2*maxHead)
	assert.LessOrEqual(t, cap(s.text), 2*maxText)
	assert.Equal(t, []Table{{Name: "public.x", Rows: 1}}, s.Tables())
	assert.True(t, s.Complete())
}

func TestCopyTable(t *testing.T) {
	for line, want := range map[string]string{
		"COPY public.t (a, b) FROM stdin;":            "public.t",
		`COPY "my schema"."my table" (a) FROM stdin;`: `"my schema"."my table"`,
		`COPY s."a ""b"" c" (x) FROM stdin;`:          `s."a ""b"" c"`,
		"COPY public.nocols  FROM stdin;":             "public.nocols",
		"copy\n  public.t(a) from stdin;":             "public.t",
	} {
		assert.Equal(t, want, CopyTable(line), line)
	}
}

// What `pg_dump --clean --create` writes around the database: a restore
// into a scratch database must not run it, and line numbers must not move.
const createDump = `\restrict K
SET client_encoding = 'UTF8';
DROP DATABASE app;
--
-- Name: app; Type: DATABASE; Schema: -; Owner: postgres
--

CREATE DATABASE app WITH TEMPLATE = template0 ENCODING = 'UTF8'
    LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';
ALTER DATABASE app OWNER TO postgres;
ALTER DATABASE app SET search_path TO 'a', 'b';
ALTER ROLE app_ro IN DATABASE app SET work_mem TO '8MB';
COMMENT ON DATABASE app IS 'the app';
REVOKE CONNECT,TEMPORARY ON DATABASE app FROM PUBLIC;
GRANT CONNECT ON DATABASE app TO app_ro;

\unrestrict K
\connect app
\restrict K

CREATE TABLE public.t (id integer);
GRANT SELECT ON TABLE public.t TO app_ro;
COMMENT ON TABLE public.t IS 'CREATE DATABASE x; \connect y';
CREATE USER MAPPING FOR app_ro SERVER s;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO app_ro;
COPY public.t (id) FROM stdin;
1
\.
` + Trailer + `
\unrestrict K
`

func TestGuardNeutralisesStatementsAboutTheDatabase(t *testing.T) {
	var out bytes.Buffer
	g := NewGuard(&out)
	_, err := g.Write([]byte(createDump))
	require.NoError(t, err)
	require.NoError(t, g.Close())
	got := out.String()

	assert.Equal(t, strings.Count(createDump, "\n"), strings.Count(got, "\n"), "line numbers stay the file's")
	assert.Contains(t, got, "/* skipped by stevedore: DROP DATABASE */\n")
	got = regexp.MustCompile(`/\* skipped by stevedore: [^*]*\*/`).ReplaceAllString(got, "")
	for _, gone := range []string{"DROP DATABASE app", "CREATE DATABASE app", "ALTER DATABASE app", "ALTER ROLE app_ro",
		"COMMENT ON DATABASE", "ON DATABASE app", "\\connect app"} {
		assert.NotContains(t, got, gone)
	}
	for _, kept := range []string{"CREATE TABLE public.t", "GRANT SELECT ON TABLE public.t TO app_ro;", "'CREATE DATABASE x; \\connect y'",
		"CREATE USER MAPPING", "ALTER DEFAULT PRIVILEGES", "COPY public.t (id) FROM stdin;\n1\n\\.\n"} {
		assert.Contains(t, got, kept)
	}
	var what []string
	for _, k := range g.Skipped() {
		what = append(what, k.What)
	}
	assert.Equal(t, []string{"DROP DATABASE", "CREATE DATABASE", "ALTER DATABASE", "ALTER DATABASE", "ALTER ROLE … IN DATABASE",
		"COMMENT ON DATABASE", "REVOKE ON DATABASE", "GRANT ON DATABASE", `\connect app`}, what)
	assert.EqualValues(t, 3, g.Skipped()[0].Line)
	assert.EqualValues(t, 8, g.Skipped()[1].Line)
	assert.Equal(t, []Table{{Name: "public.t", Rows: 1}}, g.Tables())
	assert.True(t, g.Complete())
}

func TestGuardRefusesWhatChangesTheWholeServer(t *testing.T) {
	tests := []struct{ script, want string }{
		{"CREATE ROLE app_ro;\n", "CREATE ROLE changes a role"},
		{"SELECT 1;\n\n  create user bob;\n", "line 3: CREATE USER"},
		{"ALTER ROLE app_ro SET work_mem = '8MB';\n", "ALTER ROLE changes a role"},
		{"DROP ROLE IF EXISTS app_ro;\n", "DROP ROLE"},
		{"GRANT app_ro TO bob;\n", "changes role membership"},
		{"REVOKE app_ro FROM bob;\n", "changes role membership"},
		{"CREATE TABLESPACE fast LOCATION '/ssd';\n", "tablespace"},
		{"ALTER SYSTEM SET work_mem = '1GB';\n", "ALTER SYSTEM"},
		{"GRANT SET ON PARAMETER work_mem TO bob;\n", "GRANT ON PARAMETER"},
		{"REASSIGN OWNED BY a TO b;\n", "REASSIGN OWNED"},
		{"\\! rm -rf /\n", `\!`},
		{"\\o /tmp/x\n", `\o`},
		{"\\set ON_ERROR_STOP off\n", `\set`},
		{"\\connect a\nSELECT 1;\n\\connect b\n", "more than one database"},
		{"SELECT 1\n\\connect a\n;\n", "inside a statement"},
		{"SELECT 1 \\! touch /tmp/x\n;\n", "inside a statement"},
		// Found by review: each reached psql before.
		{"CREATE TABLE a (t text);\nCOPY a FROM stdin; COPY b FROM stdin;\nx\n\\.\n", "text after COPY … FROM stdin; on the same line"},
		{"\\restrict k1 \\\\ DROP DATABASE app WITH (FORCE);\n", `a \restrict line that holds more than a key`},
		{"\\unrestrict k \\! touch /tmp/x\n", `a \unrestrict line that holds more than a key`},
		{"SET standard_conforming_strings = 'off';\nSELECT '\\'' ;\n\\! touch /tmp/x\n';\n", "changes standard_conforming_strings"},
		{"SELECT set_config('standard_conforming_strings', 'off', false);\n", "changes standard_conforming_strings"},
		{"SET standard_conforming_strings TO off;\n", "changes standard_conforming_strings"},
		{"SELECT 1$q$ ' $q$ \\! touch /tmp/x\n';\n", `\!`},
		{"CREATE FUNCTION begin() RETURNS int LANGUAGE sql AS 'select 1'; CREATE ROLE evil SUPERUSER; END;\n", "CREATE ROLE"},
		{"\\connect x*/ CREATE ROLE r; /*\n\\connect y\n", "more than one database"},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			var out bytes.Buffer
			g := NewGuard(&out)
			_, err := g.Write([]byte(tt.script))
			if err == nil {
				err = g.Close()
			}
			var refused *RefusedError
			require.ErrorAs(t, err, &refused)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestGuardReaderStopsAtARefusal(t *testing.T) {
	scan, r := GuardReader(strings.NewReader("CREATE TABLE t (x int);\nCREATE ROLE r;\n" + strings.Repeat("SELECT 1;\n", 100000)))
	got, err := io.ReadAll(r)
	var refused *RefusedError
	require.ErrorAs(t, err, &refused)
	assert.EqualValues(t, 2, refused.Line)
	assert.Less(t, len(got), 100, "nothing after the refusal is read out")
	assert.False(t, scan.Complete())

	scan, r = GuardReader(strings.NewReader(dump))
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, withoutRestrict(dump), string(got))
	assert.True(t, scan.Complete())
}

// A statement without its ';' at the end of the file still runs in psql,
// so the guard classifies it too.
func TestGuardClassifiesAnUnterminatedLastStatement(t *testing.T) {
	var out bytes.Buffer
	g := NewGuard(&out)
	_, err := g.Write([]byte("SELECT 1;\nDROP DATABASE app"))
	require.NoError(t, err)
	require.NoError(t, g.Close())
	assert.NotContains(t, out.String(), "DROP DATABASE app")

	g = NewGuard(&out)
	_, err = g.Write([]byte("SELECT 1;\nCREATE ROLE"))
	require.NoError(t, err)
	assert.Error(t, g.Close())
}

func TestSkippedSummary(t *testing.T) {
	s := []Skipped{{1, "A"}, {2, "B"}, {3, "C"}, {4, "D"}, {5, "E"}, {6, "F"}}
	assert.Equal(t, "A (line 1), B (line 2), C (line 3), D (line 4), and 2 more", SkippedSummary(s))
}

// Any input: the scanner never fails or panics, and a guard either refuses
// or forwards every byte except the statements it neutralises.
func FuzzGuard(f *testing.F) {
	f.Add(dump, 7)
	f.Add(createDump, 3)
	f.Add("SELECT $a$ $b$ $a$; E'\\'' \"x\"\"\" /* /* */ */ -- x\n", 1)
	f.Fuzz(func(t *testing.T, script string, size int) {
		size = max(1, size%64)
		var out bytes.Buffer
		g := NewGuard(&out)
		var obs Scanner
		var err error
		for i := 0; i < len(script) && err == nil; i += size {
			chunk := []byte(script[i:min(i+size, len(script))])
			_, _ = obs.Write(chunk)
			_, err = g.Write(chunk)
		}
		if err == nil {
			err = g.Close()
		}
		var refused *RefusedError
		if err != nil {
			require.True(t, errors.As(err, &refused), "%v", err)
			return
		}
		if len(g.Skipped()) == 0 && g.stripped == 0 {
			assert.Equal(t, script, out.String())
		}
		assert.Equal(t, obs.Tables(), g.Tables())
	})
}

func BenchmarkScanner(b *testing.B) {
	row := "12345\t1\t0\t                                                                                    \n"
	chunk := []byte("COPY public.pgbench_accounts (aid, bid, abalance, filler) FROM stdin;\n" + strings.Repeat(row, 10000) + "\\.\n")
	b.SetBytes(int64(len(chunk)))
	var s Scanner
	for b.Loop() {
		_, _ = s.Write(chunk)
	}
}

func BenchmarkGuardOnInserts(b *testing.B) {
	chunk := []byte(strings.Repeat("INSERT INTO public.item VALUES (12345, 'some text, with ''quotes''', E'\\\\x00ff', 3.14);\n", 5000))
	b.SetBytes(int64(len(chunk)))
	g := NewGuard(io.Discard)
	for b.Loop() {
		_, _ = g.Write(chunk)
	}
}
