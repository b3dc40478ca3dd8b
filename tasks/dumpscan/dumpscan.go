// Package dumpscan reads a plain-format pg_dump stream as it passes and
// records what the dump holds: the rows of every table (from its COPY block),
// the large objects, and whether pg_dump finished (its closing trailer). A
// backup's record is derived from its own bytes, so it agrees with the dump
// exactly, whatever the database did meanwhile.
package dumpscan

import (
	"bytes"
	"strings"
)

// Trailer is the last line pg_dump writes to a complete plain dump.
const Trailer = "-- PostgreSQL database dump complete"

// keepPrefix bounds how much of one line the scanner keeps: enough to read a
// COPY statement's table name, not a whole multi-megabyte line.
const keepPrefix = 64 << 10

// Table is one table's data in the dump.
type Table struct {
	Name string `json:"name"` // as the dump writes it: schema-qualified, quoted where needed
	Rows int64  `json:"rows"`
}

// Scanner is an io.Writer that follows a plain pg_dump stream. Its memory is
// constant: it never holds more than keepPrefix of a line.
type Scanner struct {
	tables       []Table
	largeObjects int64
	bytes        int64

	line     []byte // start of the current line, up to keepPrefix
	lineLong bool   // the current line is longer than line holds
	inCopy   bool
	last     string // the last line with words, for the trailer

	// pg_dump 15.14 and later open a plain dump with `\restrict KEY` and
	// close it with `\unrestrict KEY`: a matching pair is a second proof that
	// the dump is whole.
	restrictKey  string
	unrestricted bool

	serverVersion string
}

// Write scans p. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	n := len(p)
	s.bytes += int64(n)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.keep(p)
			break
		}
		if len(s.line) == 0 && !s.lineLong && s.inCopy {
			// Fast path for data rows that arrive whole.
			if !(i == 2 && p[0] == '\\' && p[1] == '.') {
				s.tables[len(s.tables)-1].Rows++
				p = p[i+1:]
				continue
			}
		}
		s.keep(p[:i])
		s.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (s *Scanner) keep(b []byte) {
	room := keepPrefix - len(s.line)
	if len(b) > room {
		b = b[:room]
		s.lineLong = true
	}
	s.line = append(s.line, b...)
}

func (s *Scanner) endLine() {
	line := s.line
	s.line, s.lineLong = s.line[:0], false
	if s.inCopy {
		if string(line) == `\.` {
			s.inCopy = false
		} else {
			s.tables[len(s.tables)-1].Rows++
		}
		return
	}
	text := strings.TrimRight(string(line), "\r")
	if v, ok := strings.CutPrefix(text, "-- Dumped from database version "); ok && s.serverVersion == "" {
		s.serverVersion = v
	}
	if key, ok := strings.CutPrefix(text, `\restrict `); ok && s.restrictKey == "" {
		s.restrictKey = key
	}
	if key, ok := strings.CutPrefix(text, `\unrestrict `); ok {
		s.unrestricted = s.restrictKey != "" && key == s.restrictKey
		return
	}
	// pg_dump frames its comments with bare "--" lines; the trailer is the
	// last line with words in it.
	if t := strings.TrimSpace(text); t != "" && t != "--" {
		s.last = text
	}
	switch {
	case strings.HasPrefix(text, "COPY ") && strings.HasSuffix(text, " FROM stdin;"):
		s.tables = append(s.tables, Table{Name: CopyTable(text)})
		s.inCopy = true
	case strings.HasPrefix(text, "SELECT pg_catalog.lo_create("):
		s.largeObjects++
	}
}

// Tables returns each table whose data the dump holds, in dump order.
func (s *Scanner) Tables() []Table { return append([]Table(nil), s.tables...) }

// LargeObjects returns how many large objects the dump creates.
func (s *Scanner) LargeObjects() int64 { return s.largeObjects }

// ServerVersion returns the server version pg_dump wrote in the dump's
// header, e.g. "15.18 (Debian 15.18-0+deb12u1)".
func (s *Scanner) ServerVersion() string { return s.serverVersion }

// Bytes returns how many bytes were scanned.
func (s *Scanner) Bytes() int64 { return s.bytes }

// Complete reports whether the stream ended the way pg_dump ends a dump it
// finished: outside a COPY block, on its trailer line, and with the
// `\unrestrict` that matches its `\restrict` when it has one.
func (s *Scanner) Complete() bool {
	return !s.inCopy && len(s.line) == 0 && s.last == Trailer &&
		(s.restrictKey == "" || s.unrestricted)
}

// CopyTable returns the table of a `COPY name (columns) FROM stdin;` line,
// honouring quoted identifiers (which may hold spaces, dots and quotes).
func CopyTable(line string) string {
	rest := strings.TrimPrefix(line, "COPY ")
	inQuote := false
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '"':
			inQuote = !inQuote // a doubled "" toggles twice: still right
		case c == ' ' && !inQuote:
			return rest[:i]
		}
	}
	return rest
}
