package dumpscan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const dump = `--
-- PostgreSQL database dump
--

\restrict K3y

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

CREATE TABLE public.t (id integer, note text);
CREATE TABLE "Odd Schema"."tä ""quoted"" (x)" (v integer);

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
	}, s.Tables())
	assert.EqualValues(t, 2, s.LargeObjects())
	assert.Equal(t, "15.18 (Debian 15.18-0+deb12u1)", s.ServerVersion())
	assert.EqualValues(t, len(dump), s.Bytes())
	assert.True(t, s.Complete())
}

// A stream arrives in pieces of any size: every split gives the same answer.
func TestScannerIsIndependentOfChunking(t *testing.T) {
	want := scan(dump)
	for size := 1; size <= len(dump); size++ {
		var chunks []string
		for i := 0; i < len(dump); i += size {
			chunks = append(chunks, dump[i:min(i+size, len(dump))])
		}
		got := scan(chunks...)
		if !assert.Equal(t, want.Tables(), got.Tables(), "chunk size %d", size) ||
			!assert.Equal(t, want.Complete(), got.Complete(), "chunk size %d", size) {
			return
		}
	}
}

func TestScannerSpotsATruncatedDump(t *testing.T) {
	cut := strings.Index(dump, "3\t\\N")
	tests := map[string]string{
		"cut inside a COPY block": dump[:cut],
		"cut mid-line":            dump[:len(dump)-30],
		"no trailer":              dump[:strings.Index(dump, "--\n-- PostgreSQL database dump complete")],
		"no unrestrict":           strings.Replace(dump, "\\unrestrict K3y", "", 1),
		"wrong unrestrict key":    strings.Replace(dump, "\\unrestrict K3y", "\\unrestrict other", 1),
		"cut in the last line":    strings.TrimRight(dump, "y\n"),
		"empty":                   "",
	}
	for name, stream := range tests {
		t.Run(name, func(t *testing.T) {
			assert.False(t, scan(stream).Complete())
		})
	}
}

func TestScannerMemoryStaysBoundedOnHugeLines(t *testing.T) {
	var s Scanner
	huge := "SELECT pg_catalog.lowrite(0, '" + strings.Repeat("ab", 200_000) + "');\n"
	_, _ = s.Write([]byte(huge))
	_, _ = s.Write([]byte("COPY public.x (a) FROM stdin;\n" + strings.Repeat("z", 3*keepPrefix) + "\n\\.\n" + Trailer + "\n"))
	assert.LessOrEqual(t, cap(s.line), 2*keepPrefix)
	assert.Equal(t, []Table{{Name: "public.x", Rows: 1}}, s.Tables())
	assert.True(t, s.Complete())
}

func TestCopyTable(t *testing.T) {
	for line, want := range map[string]string{
		"COPY public.t (a, b) FROM stdin;":            "public.t",
		`COPY "my schema"."my table" (a) FROM stdin;`: `"my schema"."my table"`,
		`COPY s."a ""b"" c" (x) FROM stdin;`:          `s."a ""b"" c"`,
		"COPY public.nocols  FROM stdin;":             "public.nocols",
	} {
		assert.Equal(t, want, CopyTable(line), line)
	}
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
