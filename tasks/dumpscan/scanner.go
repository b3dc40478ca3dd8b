// Package dumpscan reads a plain SQL dump as it streams and records what it
// holds: the rows of every table's COPY block, the tables filled by INSERT
// statements, the large objects, and whether pg_dump finished (its closing
// trailer). A backup's record is derived from its own bytes, so it agrees
// with the dump exactly, whatever the database did meanwhile.
//
// The scanner follows SQL the way psql splits it into statements (quotes,
// dollar quotes, comments, parentheses, BEGIN ATOMIC bodies), so only a real
// `COPY … FROM stdin;` statement starts a data block: the same text inside a
// function body, a string or a comment does not. Guarding (NewGuard) also
// keeps a restore inside its scratch database: statements about the database
// itself are replaced by comments, and a script that would change the whole
// server is refused.
package dumpscan

import (
	"bytes"
	"io"
	"regexp"
	"strings"
)

// Trailer is the last line pg_dump writes to a complete plain dump.
const Trailer = "-- PostgreSQL database dump complete"

// Table is one table's data in the dump.
type Table struct {
	Name string `json:"name"` // as the dump writes it: schema-qualified, quoted where needed
	Rows int64  `json:"rows"`
}

// Lexical states, as psql's own scanner has them.
type state uint8

const (
	stNormal            state = iota // SQL outside any quote or comment
	stDash                           // saw '-': a comment starts if another follows
	stSlash                          // saw '/': a block comment starts if '*' follows
	stLineComment                    // -- … to the end of the line
	stBlockComment                   // /* … */, nested
	stQuote                          // '…'
	stQuoteEnd                       // saw a ' in '…': the end, or the first of ''
	stEscQuote                       // E'…', where backslash escapes
	stEscQuoteBackslash              // the byte after a backslash in E'…'
	stEscQuoteEnd                    // saw a ' in E'…'
	stIdent                          // "…"
	stIdentEnd                       // saw a " in "…"
	stDollarOpen                     // after '$': an opening tag, or not a quote at all
	stDollar                         // inside $tag$ … $tag$
	stMeta                           // a psql backslash command, to the end of its line
	stCopyData                       // rows of COPY … FROM stdin, to a line "\."
)

// Where the bytes of a guarded stream go.
type route uint8

const (
	toOut  route = iota // forwarded
	toHeld              // kept until the statement is classified
	toDrop              // dropped with a neutralised statement
)

// Bounds on what is kept, so memory stays constant whatever the lines hold.
const (
	maxHead = 1 << 10 // a statement's first bytes, enough for its table name
	maxText = 1 << 10 // a comment or psql command
	maxWord = 64      // PostgreSQL cuts identifiers at 63 bytes
	maxHeld = 1 << 20 // an unclassified statement (a GRANT is a few hundred bytes)
)

// Scanner is an io.Writer that follows a plain SQL dump. The zero value only
// observes; NewGuard's also forwards a guarded copy. Its memory is constant.
type Scanner struct {
	// What the dump holds.
	tables        []Table
	inserts       []Table // INSERT statements per table; Rows counts statements
	largeObjects  int64
	bytes         int64
	serverVersion string
	restrictKey   string // pg_dump 15.14+ frames a dump with \restrict KEY … \unrestrict KEY
	restricted    bool
	lastMark      string // the last comment with words, or "" after a statement or command

	// Lexer.
	st          state
	lastByte    byte
	depth       int // parentheses
	beginDepth  int // BEGIN … END of a SQL-standard function body
	commentLvl  int
	commentPrev byte
	word        []byte
	inWord      bool
	wordIsNum   bool
	prevFrom    bool   // the last word of a COPY statement was FROM
	tag         []byte // of the dollar quote being read
	literal     []byte // the start of the string literal being read
	tagMatch    int    // closing-tag bytes matched after a '$', or -1
	text        []byte // the comment or psql command being read
	active      bool   // a statement has begun
	stmt        statement
	part        statement // the current ;-separated part of a BEGIN … END statement
	fromStdin   bool      // FROM STDIN seen at depth 0
	head        []byte
	headFrom    int // where in the current Write the head continues
	copyNext    bool
	copyLine    [3]byte
	copyLen     int
	inMetaStmt  bool // the psql command began inside a statement

	// Guarding and forwarding.
	out        io.Writer
	guard      bool
	route      route
	runFrom    int // start of the bytes of the current Write not yet routed
	held       []byte
	verdict    verdict
	what       string
	dropped    int // newlines dropped with the current statement
	lines      int64
	lineMark   int
	stmtLine   int64
	connectArg string
	skipped    []Skipped
	stripped   int // \restrict lines left out
	err        error
}

// NewGuard returns a Scanner that forwards what it is given to out, except
// that statements about the database itself (CREATE, DROP, ALTER DATABASE,
// \connect, grants and comments on the database) become comments holding as
// many lines, and a script that changes the whole server (roles,
// tablespaces, ALTER SYSTEM, psql commands that reach outside the database)
// fails the Write with a *RefusedError.
func NewGuard(out io.Writer) *Scanner { return &Scanner{out: out, guard: true} }

// Write scans p. Only a guarding Scanner fails: on a refused statement or
// when its output fails.
func (s *Scanner) Write(p []byte) (int, error) {
	if s.err != nil || len(p) == 0 {
		return 0, s.err
	}
	s.runFrom, s.lineMark, s.headFrom = 0, 0, 0
	i := 0
	for i < len(p) && s.err == nil {
		i = s.step(p, i)
	}
	if s.err != nil {
		return i, s.err
	}
	s.keepHead(p, len(p))
	s.routeTo(p, len(p), s.route)
	if s.guard {
		s.lines += int64(bytes.Count(p[s.lineMark:], []byte{'\n'}))
	}
	s.bytes += int64(len(p))
	s.lastByte = p[len(p)-1]
	return len(p), s.err
}

// step scans from p[i] and returns where it stopped.
func (s *Scanner) step(p []byte, i int) int {
	c := p[i]
	switch s.st {
	case stCopyData:
		return s.copyData(p, i)
	case stNormal:
		for i < len(p) && s.st == stNormal && s.err == nil {
			if s.inWord && s.continuesWord(p[i]) {
				i = s.words(p, i)
				continue
			}
			s.normal(p, i, p[i])
			i++
		}
		return i
	case stDash:
		if c == '-' {
			s.st, s.text = stLineComment, append(s.text[:0], "--"...)
			return i + 1
		}
		s.st = stNormal
		s.afterCopy()
		s.activate(p, i, false)
		return i // the '-' was an operator; scan c as SQL
	case stSlash:
		if c == '*' {
			s.st, s.commentLvl, s.commentPrev = stBlockComment, 1, 0
			return i + 1
		}
		s.st = stNormal
		s.afterCopy()
		s.activate(p, i, false)
		return i
	case stLineComment:
		return s.toLineEnd(p, i, func(int) { s.endComment() })
	case stBlockComment:
		return s.blockComment(p, i)
	case stQuote:
		j := s.skipTo(p, i, '\'', stQuoteEnd)
		s.keepLiteral(p[i:j])
		return j
	case stQuoteEnd:
		if c == '\'' { // '' is a quote inside the string
			s.st = stQuote
			return i + 1
		}
		s.st = stNormal
		s.endLiteral()
		return i
	case stEscQuote:
		j := bytes.IndexAny(p[i:], `\'`)
		if j < 0 {
			return len(p)
		}
		if p[i+j] == '\\' {
			s.st = stEscQuoteBackslash
		} else {
			s.st = stEscQuoteEnd
		}
		return i + j + 1
	case stEscQuoteBackslash:
		s.st = stEscQuote
		return i + 1
	case stEscQuoteEnd:
		if c == '\'' {
			s.st = stEscQuote
			return i + 1
		}
		s.st = stNormal
		return i
	case stIdent:
		return s.skipTo(p, i, '"', stIdentEnd)
	case stIdentEnd:
		if c == '"' {
			s.st = stIdent
			return i + 1
		}
		s.st = stNormal
		s.addWord(p, i, quotedWord) // a quoted identifier is never a keyword
		return i
	case stDollarOpen:
		return s.dollarOpen(p, i, c)
	case stDollar:
		return s.dollar(p, i)
	case stMeta:
		return s.toLineEnd(p, i, func(end int) { s.endMeta(p, end) })
	}
	return i + 1
}

// toLineEnd keeps the text of a comment or psql command up to the end of
// its line, where it calls done with the newline's index. The newline itself
// is then scanned as SQL whitespace.
func (s *Scanner) toLineEnd(p []byte, i int, done func(end int)) int {
	j := bytes.IndexByte(p[i:], '\n')
	if j < 0 {
		s.keepText(p[i:])
		return len(p)
	}
	s.keepText(p[i : i+j])
	done(i + j)
	s.st = stNormal
	return i + j
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func identStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// normal scans one byte of SQL outside quotes and comments.
func (s *Scanner) normal(p []byte, i int, c byte) {
	if s.inWord {
		if s.continuesWord(c) {
			if len(s.word) < maxWord {
				s.word = append(s.word, c)
			}
			return
		}
		s.inWord = false
		if c == '\'' && !s.wordIsNum && len(s.word) == 1 && (s.word[0] == 'E' || s.word[0] == 'e') {
			s.st = stEscQuote // E'…': the E is a prefix, not a word
			return
		}
		if !s.wordIsNum {
			s.addWord(p, i, upper(s.word))
			if s.err != nil {
				return
			}
		}
	}
	switch {
	case isSpace(c):
		if c == '\n' && s.copyNext {
			s.copyNext, s.st, s.copyLen = false, stCopyData, 0
		}
		return
	case c == '-':
		s.st = stDash
		return
	case c == '/':
		s.st = stSlash
		return
	case c == '\\':
		s.startMeta(p, i)
		return
	}
	s.afterCopy()
	s.activate(p, i, identStart(c))
	switch c {
	case '\'':
		s.st, s.literal = stQuote, s.literal[:0]
	case '"':
		s.st = stIdent
	case '$':
		s.st, s.tag = stDollarOpen, s.tag[:0]
	case '(':
		s.depth++
	case ')':
		if s.depth > 0 {
			s.depth--
		}
	case ';':
		switch {
		case s.depth > 0:
		case s.beginDepth == 0:
			s.endStatement(p, i)
		case s.guard:
			s.endPart()
		}
	default:
		if identStart(c) || isDigit(c) {
			s.inWord, s.wordIsNum, s.word = true, isDigit(c), append(s.word[:0], c)
		}
	}
}

// words reads the rest of a word in one go: most bytes of SQL text are.
func (s *Scanner) words(p []byte, i int) int {
	j := i
	for j < len(p) && s.continuesWord(p[j]) {
		j++
	}
	if room := maxWord - len(s.word); room > 0 {
		s.word = append(s.word, p[i:min(j, i+room)]...)
	}
	return j
}

// continuesWord reports whether c goes on the word being read: '$' goes on
// an identifier (a$b) but ends a number, after which it may open a dollar
// quote (1$q$…), as psql reads it.
func (s *Scanner) continuesWord(c byte) bool {
	return identStart(c) || isDigit(c) || c == '$' && !s.wordIsNum
}

// upper upper-cases an ASCII word in place.
func upper(w []byte) []byte {
	for i, c := range w {
		if c >= 'a' && c <= 'z' {
			w[i] = c - 'a' + 'A'
		}
	}
	return w
}

// skipTo passes the inside of a quote up to its next delimiter.
func (s *Scanner) skipTo(p []byte, i int, delim byte, next state) int {
	j := bytes.IndexByte(p[i:], delim)
	if j < 0 {
		return len(p)
	}
	s.st = next
	return i + j + 1
}

func (s *Scanner) blockComment(p []byte, i int) int {
	j := bytes.IndexAny(p[i:], "*/")
	if j < 0 {
		s.commentPrev = 0
		return len(p)
	}
	if j > 0 {
		s.commentPrev = 0
	}
	c := p[i+j]
	switch {
	case c == '*' && s.commentPrev == '/':
		s.commentLvl++
		s.commentPrev = 0
	case c == '/' && s.commentPrev == '*':
		s.commentLvl--
		s.commentPrev = 0
		if s.commentLvl == 0 {
			s.st = stNormal
		}
	default:
		s.commentPrev = c
	}
	return i + j + 1
}

// dollarOpen reads what follows a '$': a tag and a second '$' open a dollar
// quote; a digit makes it a parameter ($1); anything else, a plain '$'.
func (s *Scanner) dollarOpen(p []byte, i int, c byte) int {
	switch {
	case c == '$':
		s.st, s.tagMatch = stDollar, -1
		return i + 1
	case identStart(c) || (len(s.tag) > 0 && isDigit(c)):
		if len(s.tag) >= maxText {
			s.st = stNormal // no tag is this long: not a quote
			return i
		}
		s.tag = append(s.tag, c)
		return i + 1
	}
	s.st = stNormal
	return i
}

// dollar passes the body of a dollar quote up to its closing $tag$.
func (s *Scanner) dollar(p []byte, i int) int {
	for i < len(p) {
		if s.tagMatch < 0 {
			j := bytes.IndexByte(p[i:], '$')
			if j < 0 {
				return len(p)
			}
			i += j + 1
			s.tagMatch = 0
			continue
		}
		c := p[i]
		switch {
		case c == '$' && s.tagMatch == len(s.tag):
			s.st = stNormal
			return i + 1
		case c == '$':
			s.tagMatch = 0
		case s.tagMatch < len(s.tag) && c == s.tag[s.tagMatch]:
			s.tagMatch++
		default:
			s.tagMatch = -1
		}
		i++
	}
	return i
}

// copyData counts the rows of a COPY block, whole lines at a time.
func (s *Scanner) copyData(p []byte, i int) int {
	for i < len(p) {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			s.copyKeep(p[i:])
			return len(p)
		}
		var end bool
		if s.copyLen == 0 {
			end = isCopyEnd(p[i : i+j])
		} else {
			s.copyKeep(p[i : i+j])
			end = isCopyEnd(s.copyLine[:min(s.copyLen, len(s.copyLine))]) && s.copyLen <= len(s.copyLine)
		}
		s.copyLen = 0
		if end {
			s.st = stNormal
			return i + j // the newline is scanned as SQL whitespace
		}
		s.tables[len(s.tables)-1].Rows++
		i += j + 1
	}
	return i
}

// isCopyEnd reports whether a line ends COPY data: `\.`, also with CRLF.
func isCopyEnd(line []byte) bool {
	return string(line) == `\.` || string(line) == "\\.\r"
}

func (s *Scanner) copyKeep(b []byte) {
	if s.copyLen < len(s.copyLine) {
		copy(s.copyLine[s.copyLen:], b)
	}
	s.copyLen += len(b)
}

// keepLiteral keeps the start of a string literal: enough to know one that
// names standard_conforming_strings.
func (s *Scanner) keepLiteral(b []byte) {
	if room := maxWord - len(s.literal); room > 0 {
		s.literal = append(s.literal, b[:min(len(b), room)]...)
	}
}

func (s *Scanner) endLiteral() {
	if bytes.EqualFold(bytes.TrimSuffix(s.literal, []byte("'")), []byte("standard_conforming_strings")) {
		s.stmt.stdStrings = true
	}
}

func (s *Scanner) keepText(b []byte) {
	if room := maxText - len(s.text); room > 0 {
		s.text = append(s.text, b[:min(len(b), room)]...)
	}
}

// endComment reads a line comment between statements: pg_dump's header
// names the server version, and its trailer closes a complete dump.
func (s *Scanner) endComment() {
	if s.active {
		return
	}
	text := strings.TrimRight(string(s.text), "\r")
	if v, ok := strings.CutPrefix(text, "-- Dumped from database version "); ok && s.serverVersion == "" {
		s.serverVersion = v
	}
	if t := strings.TrimSpace(text); t != "" && t != "--" {
		s.lastMark = text
	}
}

// activate notes that a statement begins at p[i], with a word or not.
func (s *Scanner) activate(p []byte, i int, word bool) {
	if s.active {
		return
	}
	s.active, s.fromStdin, s.prevFrom = true, false, false
	s.stmt.reset(!word)
	s.part.reset(!word)
	s.head, s.headFrom = s.head[:0], i
	s.lastMark = ""
	if s.guard {
		s.stmtLine = s.lineAt(p, i) + 1
		s.verdict = undecided
		s.routeTo(p, i, toHeld)
	}
}

var quotedWord = []byte(`"`)

// addWord adds an upper-cased word of the current statement, read up to p[i].
func (s *Scanner) addWord(p []byte, i int, w []byte) {
	if s.depth > 0 {
		return
	}
	if s.stmt.word(0) == "COPY" {
		s.fromStdin = s.fromStdin || s.prevFrom && string(w) == "STDIN"
		s.prevFrom = string(w) == "FROM"
	}
	s.stmt.add(w)
	s.part.add(w)
	if s.stmt.isFunctionBody() {
		switch {
		case string(w) == "BEGIN":
			s.beginDepth++
		case string(w) == "CASE" && s.beginDepth > 0:
			s.beginDepth++
		case string(w) == "END" && s.beginDepth > 0:
			s.beginDepth--
		}
	}
	if s.guard && s.verdict == undecided {
		s.decide(p, i, false)
	}
}

// decide classifies the statement if it can and routes its bytes from p[i] on.
func (s *Scanner) decide(p []byte, i int, final bool) {
	v, what := s.stmt.classify(final)
	if v == undecided {
		if len(s.held) > maxHeld {
			s.fail(s.stmtLine, "a statement too long to check before it runs")
		}
		return
	}
	s.verdict, s.what = v, what
	switch v {
	case pass:
		s.routeTo(p, i, toOut)
	case neutralise:
		s.routeTo(p, i, toDrop)
	case refuse:
		s.fail(s.stmtLine, what)
	}
}

// afterCopy refuses SQL on the line of a COPY … FROM stdin: psql runs it
// after the data block, while the rows start on the next line, so the two
// would not agree on what is data.
func (s *Scanner) afterCopy() {
	if s.copyNext && s.guard {
		s.fail(s.lines+1, "text after COPY … FROM stdin; on the same line")
	}
}

func (s *Scanner) fail(line int64, why string) {
	s.err = &RefusedError{Line: line, Why: why}
}

// endStatement closes the statement whose ';' is p[i].
func (s *Scanner) endStatement(p []byte, i int) {
	s.keepHead(p, i+1)
	if s.guard && s.stmt.stdStrings && !safeStdStrings.Match(s.head) {
		s.fail(s.stmtLine, "the file changes standard_conforming_strings, and with it how its strings read: only pg_dump's `SET standard_conforming_strings = on;` is followed (make the dump again with a current pg_dump)")
		return
	}
	if s.guard && s.verdict == undecided {
		s.decide(p, i, true)
		if s.err != nil {
			return
		}
	}
	switch {
	case s.stmt.isCopyFromStdin(s.fromStdin):
		s.tables = append(s.tables, Table{Name: string(tableAfter(s.head, "COPY"))})
		s.copyNext = true
	case s.stmt.word(0) == "INSERT" && s.stmt.word(1) == "INTO":
		s.countInsert(tableAfter(s.head, "INSERT", "INTO"))
	case s.stmt.word(0) == "SELECT" && s.stmt.word(1) == "PG_CATALOG" && s.stmt.word(2) == "LO_CREATE":
		s.largeObjects++
	}
	if s.guard && s.verdict == neutralise {
		s.routeTo(p, i+1, toOut)
		s.skip(s.what)
	}
	s.active, s.depth, s.beginDepth = false, 0, 0
}

// safeStdStrings is how pg_dump sets standard_conforming_strings, the only
// way a file may: the scanner reads strings as the setting on reads them.
var safeStdStrings = regexp.MustCompile(`(?is)^SET\s+(SESSION\s+)?standard_conforming_strings\s*(=|TO)\s*'?on'?\s*;$`)

// endPart checks a ;-separated part inside BEGIN … END. psql sends the
// whole statement as one, and if the BEGIN was not a function body's (a
// function named begin), the server runs each part: each must pass alone.
func (s *Scanner) endPart() {
	if v, what := s.part.classify(true); v != pass {
		if v == neutralise {
			what += ", inside a statement that runs several"
		}
		s.fail(s.stmtLine, what)
	}
	s.part.reset(false)
}

func (s *Scanner) countInsert(table []byte) {
	if n := len(s.inserts); n > 0 && s.inserts[n-1].Name == string(table) {
		s.inserts[n-1].Rows++
		return
	}
	for k := range s.inserts {
		if s.inserts[k].Name == string(table) {
			s.inserts[k].Rows++
			return
		}
	}
	s.inserts = append(s.inserts, Table{Name: string(table), Rows: 1})
}

// skip writes the comment that stands for a neutralised statement, holding
// as many lines so that psql's line numbers still match the file's.
func (s *Scanner) skip(what string) {
	s.skipped = append(s.skipped, Skipped{Line: s.stmtLine, What: what})
	s.emit([]byte("/* skipped by stevedore: " + commentSafe.Replace(what) + " */" + strings.Repeat("\n", s.dropped)))
	s.dropped = 0
}

// commentSafe keeps text from the file (a \connect argument) from closing
// the comment it is quoted in.
var commentSafe = strings.NewReplacer("*/", "* /", "/*", "/ *")

// startMeta begins a psql backslash command at p[i]. Its bytes are held
// until its line ends: psql runs a command as soon as it has read its line.
func (s *Scanner) startMeta(p []byte, i int) {
	s.st, s.text, s.inMetaStmt = stMeta, s.text[:0], s.active
	if s.guard {
		if !s.active {
			s.stmtLine = s.lineAt(p, i) + 1
		}
		s.routeTo(p, i, toHeld)
	}
}

// restrictKeyPattern is what pg_dump writes after \restrict and \unrestrict.
var restrictKeyPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// endMeta acts on the psql command that ends at the newline p[i].
func (s *Scanner) endMeta(p []byte, i int) {
	line := strings.TrimRight(string(s.text), "\r")
	cmd, arg, _ := strings.Cut(strings.ReplaceAll(line, "\t", " "), " ")
	arg = strings.TrimSpace(arg)
	switch cmd {
	case "restrict":
		if s.restrictKey == "" {
			s.restrictKey = arg
		}
		s.restricted = true
	case "unrestrict":
		if arg == s.restrictKey {
			s.restricted = false
		}
	}
	if cmd != "unrestrict" {
		s.lastMark = ""
	}
	if !s.guard {
		return
	}
	v, why := metaVerdict(cmd)
	if v == strip && !restrictKeyPattern.MatchString(arg) {
		v, why = refuse, `a \`+cmd+` line that holds more than a key`
	}
	switch {
	case s.inMetaStmt:
		s.fail(s.lineAt(p, i)+1, `a psql command (\`+cmd+`) inside a statement`)
	case v == refuse:
		s.fail(s.stmtLine, why)
	case v == neutralise && s.connectArg != "" && arg != s.connectArg:
		s.fail(s.stmtLine, `the file connects to more than one database (\connect `+s.connectArg+`, then \connect `+arg+
			`): it looks like pg_dumpall's output, which holds a whole server`)
	case v == neutralise:
		s.connectArg = arg
		s.routeTo(p, i, toDrop)
		s.skip(why + " " + arg)
		s.route = toOut
	case v == strip:
		s.routeTo(p, i, toDrop)
		s.dropped, s.route = 0, toOut
		s.stripped++
	}
}

// keepHead keeps the first bytes of the current statement, up to p[i].
func (s *Scanner) keepHead(p []byte, i int) {
	if s.active && len(s.head) < maxHead && i > s.headFrom {
		s.head = append(s.head, p[s.headFrom:min(i, s.headFrom+maxHead-len(s.head))]...)
	}
	s.headFrom = i
}

// lineAt returns how many lines end before p[i].
func (s *Scanner) lineAt(p []byte, i int) int64 {
	s.lines += int64(bytes.Count(p[s.lineMark:i], []byte{'\n'}))
	s.lineMark = i
	return s.lines
}

// routeTo sends p[runFrom:i] where the current route says, then routes the
// bytes from p[i] on to r. Deciding a held statement releases its bytes.
func (s *Scanner) routeTo(p []byte, i int, r route) {
	if !s.guard {
		return
	}
	run := p[s.runFrom:i]
	switch s.route {
	case toOut:
		s.emit(run)
	case toHeld:
		s.held = append(s.held, run...)
		switch r {
		case toOut:
			s.emit(s.held)
			s.held = s.held[:0]
		case toDrop:
			s.dropped += bytes.Count(s.held, []byte{'\n'})
			s.held = s.held[:0]
		}
	case toDrop:
		s.dropped += bytes.Count(run, []byte{'\n'})
	}
	s.runFrom, s.route = i, r
}

func (s *Scanner) emit(b []byte) {
	if len(b) == 0 || s.err != nil {
		return
	}
	if _, err := s.out.Write(b); err != nil {
		s.err = err
	}
}

// Close ends a guarded stream: a statement without its closing ';' is
// still run by psql, so it is classified and released here.
func (s *Scanner) Close() error {
	if !s.guard || s.err != nil {
		return s.err
	}
	s.runFrom, s.lineMark, s.headFrom = 0, 0, 0
	switch s.st {
	case stMeta:
		s.endMeta(nil, 0)
	case stNormal:
		if s.inWord && !s.wordIsNum {
			s.inWord = false
			s.addWord(nil, 0, upper(s.word))
		}
	}
	if s.err == nil && s.active && s.verdict == undecided {
		s.decide(nil, 0, true)
	}
	switch {
	case s.err != nil:
	case s.route == toHeld:
		s.routeTo(nil, 0, toOut)
	case s.route == toDrop:
		s.routeTo(nil, 0, toOut)
		s.skip(s.what)
	}
	return s.err
}

// Tables returns each table whose data the dump holds in a COPY block, in
// dump order.
func (s *Scanner) Tables() []Table { return append([]Table(nil), s.tables...) }

// Inserts returns each table the dump fills with INSERT statements, with
// the number of statements (not rows: one statement may insert several).
func (s *Scanner) Inserts() []Table { return append([]Table(nil), s.inserts...) }

// LargeObjects returns how many large objects the dump creates.
func (s *Scanner) LargeObjects() int64 { return s.largeObjects }

// ServerVersion returns the server version pg_dump wrote in the dump's
// header, e.g. "15.18 (Debian 15.18-0+deb12u1)".
func (s *Scanner) ServerVersion() string { return s.serverVersion }

// Bytes returns how many bytes were scanned.
func (s *Scanner) Bytes() int64 { return s.bytes }

// Skipped returns the statements a guarded stream replaced by comments.
func (s *Scanner) Skipped() []Skipped { return append([]Skipped(nil), s.skipped...) }

// Complete reports whether the stream ended the way pg_dump ends a dump it
// finished: between statements, on a whole line, on its trailer, and with
// the `\unrestrict` that matches its `\restrict` when it has one.
func (s *Scanner) Complete() bool {
	return s.st == stNormal && !s.active && !s.copyNext && s.lastByte == '\n' &&
		s.lastMark == Trailer && (s.restrictKey == "" || !s.restricted)
}

// CopyTable returns the table of a `COPY name (columns) FROM stdin;` line.
func CopyTable(line string) string { return string(tableAfter([]byte(line), "COPY")) }

// tableAfter returns the name that follows the keywords that open a
// statement, up to the first space or '(' outside double quotes, honouring
// quoted identifiers (which may hold spaces, dots and quotes).
func tableAfter(text []byte, keywords ...string) []byte {
	trim := func(b []byte) []byte {
		for len(b) > 0 && isSpace(b[0]) {
			b = b[1:]
		}
		return b
	}
	rest := text
	for _, k := range keywords {
		rest = trim(rest)
		if len(rest) >= len(k) && bytes.EqualFold(rest[:len(k)], []byte(k)) {
			rest = rest[len(k):]
		}
	}
	rest = trim(rest)
	inQuote := false
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '"':
			inQuote = !inQuote // a doubled "" toggles twice: still right
		case (isSpace(c) || c == '(' || c == ';') && !inQuote:
			return rest[:i]
		}
	}
	return rest
}
