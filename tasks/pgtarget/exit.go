package pgtarget

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/proc"
)

// ExitError says a client program (psql, pg_dump) ended with an error.
type ExitError struct {
	Program string       // psql, pg_dump
	Status  int          // its exit status; 128+N when signal N killed it
	Server  *ServerError // the server's error that stopped it, when it printed one
	Last    string       // its last line on stderr
}

// ServerError is an error the server reported to psql, as psql prints it
// with VERBOSITY=verbose.
type ServerError struct {
	Line     int    // line of the script, 0 when unknown
	Severity string // ERROR, FATAL or PANIC
	Code     string // SQLSTATE, e.g. 22012
	Message  string
	Context  string // where it happened, e.g. "COPY item, line 3, column id"
}

// psql's exit statuses (psql(1), "Exit Status").
const (
	psqlFailed         = 1 // an error of its own, or of a -c command
	psqlConnectionLost = 2 // the connection to the server went bad
	psqlScriptError    = 3 // an error in the script, with ON_ERROR_STOP
)

func (e *ExitError) Error() string {
	switch {
	case e.Status > 128:
		return fmt.Sprintf("%s was killed by signal %d (%s)", e.Program, e.Status-128, signalMeaning(e.Status-128))
	case e.Program == "psql" && e.Status == psqlConnectionLost:
		msg := orNoMessage(e.Last)
		if e.Server != nil {
			msg = e.Server.Message
		}
		return fmt.Sprintf("%s lost its connection to the server: %s", e.Program, msg)
	case e.Server != nil && (e.Status == psqlScriptError || e.Status == psqlFailed):
		return e.Server.String()
	}
	return fmt.Sprintf("%s exited %d: %s", e.Program, e.Status, orNoMessage(e.Last))
}

func (s *ServerError) String() string {
	var b strings.Builder
	if s.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", s.Line)
	}
	b.WriteString(s.Message)
	if s.Code != "" || s.Context != "" {
		b.WriteString(" (")
		if s.Code != "" {
			b.WriteString("SQLSTATE " + s.Code)
		}
		if s.Code != "" && s.Context != "" {
			b.WriteString("; ")
		}
		b.WriteString(s.Context)
		b.WriteString(")")
	}
	return b.String()
}

func signalMeaning(sig int) string {
	switch sig {
	case 9:
		return "out of memory, or stopped from outside"
	case 15:
		return "stopped from outside"
	}
	return "stopped"
}

// FromScript reports whether the program stopped because a statement of
// the script failed for a reason of its own (bad data, bad SQL), rather than
// because of where it ran: a lost connection, a killed process, a full disk,
// a server shutting down, a missing role, extension or privilege.
func (e *ExitError) FromScript() bool {
	if e.Program != "psql" || e.Status != psqlScriptError {
		return false
	}
	return e.Server == nil || !environmental(e.Server)
}

// environmentClasses are SQLSTATE classes that describe the server or the
// session, not the statement: connection (08), authorization (28), a
// missing database (3D), transaction rollback (40), insufficient resources
// such as a full disk (53), object in use (55), operator intervention (57),
// system errors (58) and internal errors (XX).
var environmentClasses = map[string]bool{"08": true, "28": true, "3D": true, "40": true, "53": true, "55": true, "57": true, "58": true, "XX": true}

func environmental(s *ServerError) bool {
	switch {
	case len(s.Code) == 5 && environmentClasses[s.Code[:2]]:
		return true
	case s.Code == "42501": // insufficient privilege: the restoring role's, not the dump's
		return true
	case strings.HasPrefix(s.Message, `role "`), strings.HasPrefix(s.Message, `tablespace "`):
		return true // the server lacks a role or tablespace the dump names (English messages)
	}
	return false
}

// serverErrorLine is an error psql prints. With VERBOSITY=verbose the
// SQLSTATE follows the severity, whatever language the server speaks
// (ERREUR, FEHLER, …); without it, only English severities are known.
var serverErrorLine = regexp.MustCompile(`^(?:psql:[^:]*:(\d+): )?(?:(\S+):  ([0-9A-Z]{5}): |(ERROR|FATAL|PANIC):  )(.*)$`)

// notAnError are the SQLSTATE classes of notices and warnings.
var notAnError = map[string]bool{"00": true, "01": true, "02": true}

// ParseExit reads the stderr of a client program that exited with status.
func ParseExit(program string, status int, stderr string) *ExitError {
	e := &ExitError{Program: program, Status: status, Last: proc.LastLine(stderr)}
	lines := strings.Split(strings.ReplaceAll(stderr, "\r\n", "\n"), "\n")
	if why := clientError(program, lines); why != "" {
		e.Last = why
	}
	for i, l := range lines {
		m := serverErrorLine.FindStringSubmatch(l)
		if m == nil || m[3] != "" && notAnError[m[3][:2]] {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		e.Server = &ServerError{Line: line, Severity: m[2] + m[4], Code: m[3], Message: m[5]}
		for _, next := range lines[i+1:] {
			if ctx, ok := strings.CutPrefix(next, "CONTEXT:  "); ok {
				e.Server.Context = ctx
				break
			}
			if serverErrorLine.MatchString(next) {
				break
			}
		}
		break
	}
	return e
}

// clientError is the reason pg_dump (or another client) gives on its
// "error:" line, with the server's message from the details after it: its
// last line is only the statement that failed ("detail: Command was: …").
func clientError(program string, lines []string) string {
	for i, l := range lines {
		if !strings.HasPrefix(l, program+": error: ") {
			continue
		}
		for _, d := range lines[i+1:] {
			if server, ok := strings.CutPrefix(d, program+": detail: Error message from server: "); ok {
				return l + " " + strings.TrimSpace(server)
			}
		}
		return l
	}
	return ""
}

func orNoMessage(s string) string {
	if s == "" {
		return "no message"
	}
	return s
}
