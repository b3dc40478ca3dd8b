package dumpscan

import (
	"fmt"
	"strings"
)

// verdict is what a guarded restore does with one statement or psql command.
type verdict uint8

const (
	undecided  verdict = iota
	pass               // sent to the server as it is
	neutralise         // replaced by a comment: it would reach beyond the scratch database
	refuse             // the whole file is refused
	strip              // left out silently: \restrict, which the guard does instead
)

// statement is what the scanner knows of the SQL statement it is reading:
// its first words at parenthesis depth 0, upper-cased, and the object type
// after its first top-level ON (GRANT, REVOKE, COMMENT, SECURITY LABEL).
type statement struct {
	words      []string
	onType     string
	sawOn      bool
	notCommand bool // it starts with something else than a word: not a command psql would run
	stdStrings bool // it names standard_conforming_strings
}

// maxWords bounds the words kept per statement: classification needs a few.
const maxWords = 8

func (st *statement) word(i int) string {
	if i < len(st.words) {
		return st.words[i]
	}
	return ""
}

func (st *statement) reset(notCommand bool) {
	*st = statement{words: st.words[:0], notCommand: notCommand}
}

// add adds an upper-cased word. Classification compares words with
// keywords only, so any other word is kept as otherWord: no copy is made.
func (st *statement) add(w []byte) {
	k, ok := keywords[string(w)]
	if !ok {
		k = otherWord
	}
	if st.sawOn && st.onType == "" {
		st.onType = k
	}
	if !st.sawOn && k == "ON" {
		st.sawOn = true
	}
	if k == "STANDARD_CONFORMING_STRINGS" {
		st.stdStrings = true
	}
	if len(st.words) < maxWords {
		st.words = append(st.words, k)
	}
}

// otherWord stands for a word that is not one of the keywords.
const otherWord = "…"

// keywords are the words classification and counting look at.
var keywords = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Fields(`ALTER BEGIN CASE COMMENT COPY CREATE DATABASE DROP END FROM FUNCTION GRANT GROUP IN
		INSERT INTO LO_CREATE MAPPING OFF ON OR OWNED PARAMETER PG_CATALOG PROCEDURE REASSIGN REPLACE REVOKE ROLE
		SECURITY SELECT SET STANDARD_CONFORMING_STRINGS STDIN SYSTEM TABLESPACE USER`) {
		m[k] = k
	}
	return m
}()

// isCopyFromStdin reports whether the statement is a COPY whose rows follow
// in the script.
func (st *statement) isCopyFromStdin(fromStdin bool) bool {
	return st.word(0) == "COPY" && fromStdin
}

// isFunctionBody reports whether a BEGIN … END in this statement is a
// SQL-standard function body, inside which semicolons do not end the
// statement (psql's own rule, in psqlscan.l).
func (st *statement) isFunctionBody() bool {
	w := st.words
	if len(w) < 2 || w[0] != "CREATE" {
		return false
	}
	if w[1] == "FUNCTION" || w[1] == "PROCEDURE" {
		return true
	}
	return len(w) >= 4 && w[1] == "OR" && w[2] == "REPLACE" && (w[3] == "FUNCTION" || w[3] == "PROCEDURE")
}

// classify decides what a guarded restore does with the statement, or
// returns undecided while more words are needed. final says the statement
// has ended: decide with what there is.
//
// A restore loads into a scratch database that is swapped in afterwards, and
// the live database keeps its own database-level settings across the swap.
// So statements about the database itself (what `pg_dump --create --clean`
// writes) are neutralised, and statements that change the whole server
// (roles, tablespaces, server settings: what pg_dumpall writes) are refused.
func (st *statement) classify(final bool) (verdict, string) {
	need := func(n int) bool { return len(st.words) < n && !final }
	if st.notCommand {
		return pass, ""
	}
	w0 := st.word(0)
	switch w0 {
	case "SELECT", "SET":
		if !final { // held whole: set_config('standard_conforming_strings', …) comes late
			return undecided, ""
		}
		return pass, ""
	case "":
		if final {
			return pass, ""
		}
		return undecided, ""
	case "CREATE", "ALTER", "DROP":
		if need(2) {
			return undecided, ""
		}
		what := w0 + " " + st.word(1)
		switch st.word(1) {
		case "DATABASE":
			return neutralise, what
		case "TABLESPACE":
			return refuse, what + " changes a tablespace, which belongs to the whole server"
		case "SYSTEM":
			if w0 == "ALTER" {
				return refuse, "ALTER SYSTEM changes the whole server's settings"
			}
		case "OWNED":
			if w0 == "DROP" {
				return refuse, "DROP OWNED changes privileges on objects of the whole server"
			}
		case "USER":
			if need(3) {
				return undecided, ""
			}
			if st.word(2) == "MAPPING" { // a foreign-data user mapping lives in the database
				return pass, ""
			}
			return st.roleStatement(final, what)
		case "ROLE", "GROUP":
			return st.roleStatement(final, what)
		}
		return pass, ""
	case "REASSIGN":
		return refuse, "REASSIGN OWNED changes the owner of objects of the whole server"
	case "COMMENT", "SECURITY", "GRANT", "REVOKE":
		if !st.sawOn || st.onType == "" {
			if !final {
				return undecided, ""
			}
			if w0 == "GRANT" || w0 == "REVOKE" { // GRANT role TO role: membership
				return refuse, w0 + " of a role changes role membership, which belongs to the whole server"
			}
			return pass, ""
		}
		what := fmt.Sprintf("%s ON %s", w0, st.onType)
		switch st.onType {
		case "DATABASE":
			return neutralise, what
		case "ROLE", "TABLESPACE", "PARAMETER":
			return refuse, what + " changes something that belongs to the whole server"
		}
		return pass, ""
	}
	return pass, ""
}

// roleStatement decides CREATE/ALTER/DROP ROLE, USER or GROUP: a role's
// settings in this one database (ALTER ROLE r IN DATABASE d SET …) are
// database-level state and neutralised; anything else changes a role.
func (st *statement) roleStatement(final bool, what string) (verdict, string) {
	if st.word(0) == "ALTER" {
		if len(st.words) < 5 && !final {
			return undecided, ""
		}
		if st.word(3) == "IN" && st.word(4) == "DATABASE" {
			return neutralise, "ALTER ROLE … IN DATABASE"
		}
	}
	return refuse, what + " changes a role, which belongs to the whole server"
}

// metaVerdict decides a psql backslash command. pg_dump writes only
// \restrict and \unrestrict (and \connect with --create); every other
// command can run programs, read or write files, or change how psql runs
// the script, and is refused.
func metaVerdict(cmd string) (verdict, string) {
	switch cmd {
	case "restrict", "unrestrict":
		// psql 15.14 and later refuse other commands between the two; the
		// guard refuses them anyway, and older psql does not know these.
		return strip, ""
	case "connect", "c":
		return neutralise, `\connect`
	}
	return refuse, fmt.Sprintf(`the psql command \%s is not part of a database dump (it can run programs, touch files or change how the script runs)`, cmd)
}

// Skipped is a statement a guarded restore did not run.
type Skipped struct {
	Line int64  // 1-based line of the script where it starts
	What string // "DROP DATABASE", `\connect`, …
}

// SkippedSummary says in one line what was skipped, for people.
func SkippedSummary(s []Skipped) string {
	parts := make([]string, 0, len(s))
	for i, k := range s {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(s)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (line %d)", k.What, k.Line))
	}
	return strings.Join(parts, ", ")
}
