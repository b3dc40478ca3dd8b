package pgtarget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/internal/iocount"
)

// The stream protocol moves a dump or a load through a byte stream that may
// be cut without notice (kubectl exec; a Docker exec for loads): a script
// beside the client program reports on stderr, after the stream, the
// program's exit status and the byte count (and for dumps the sha256) of
// what went through on its side, and both ends are compared here.

// runScript runs script with args next to the database, feeding stdin (nil:
// none) and copying the program's standard output to stdout; it returns
// what the script printed on stderr.
type runScript func(ctx context.Context, stdin io.Reader, stdout io.Writer, script string, args ...string) (string, error)

// dumpScript runs pg_dump ("$@") and, on stderr after the stream, reports
// its exit status and the byte count and sha256 of what it wrote: a stream
// cut short is caught even when the transport ends cleanly.
const dumpScript = inPodPassword + `d=$(mktemp -d) && mkfifo "$d/sum" "$d/count" || exit 1
sha256sum < "$d/sum" | sed 's/ .*//; s/^/stevedore-sha256 /' >&2 &
wc -c < "$d/count" | sed 's/^ */stevedore-bytes /' >&2 &
{ "$@"; echo "stevedore-exit $?" >&2; } | tee "$d/sum" "$d/count"
wait
rm -rf "$d"
`

// loadScript runs psql ("$@") on its standard input and reports psql's exit
// status, how many bytes it was given, and tee's exit status: 0 when the
// input ended on its own (or was cut), not 0 when psql stopped reading it.
const loadScript = inPodPassword + `export PGOPTIONS='` + LoadSessionOptions + `'
d=$(mktemp -d) && mkfifo "$d/count" || exit 1
wc -c < "$d/count" | sed 's/^ */stevedore-bytes /' >&2 &
{ tee "$d/count"; echo "stevedore-input-end $?" >&2; } | { "$@"; echo "stevedore-exit $?" >&2; }
wait
rm -rf "$d"
`

// streamDump dumps c's database through run into w, then proves that every
// byte arrived: count and sha256 as the far side saw them against what
// came through.
func streamDump(ctx context.Context, run runScript, c Credentials, w io.Writer, via string) error {
	h := sha256.New()
	n := &iocount.Writer{}
	stderr, err := run(ctx, nil, io.MultiWriter(w, h, n), dumpScript, DumpArgs(c, "/dev/stdout")...)
	if err != nil {
		return asCut(err, via, n.N)
	}
	r, ok := parseReport(stderr)
	switch {
	case !ok:
		return &TruncatedError{Via: via, Got: n.N, Sent: -1}
	case r.exit != 0:
		return ParseExit("pg_dump", r.exit, r.stderr)
	case r.bytes != n.N || r.sha256 != hex.EncodeToString(h.Sum(nil)):
		return &TruncatedError{Via: via, Got: n.N, Sent: r.bytes}
	}
	return nil
}

// streamLoad runs psql through run on r into db and checks that psql was
// given every byte.
func streamLoad(ctx context.Context, run runScript, c Credentials, db string, r io.Reader, via string) (Tags, error) {
	sent := &iocount.Reader{R: r}
	pr, pw := io.Pipe()
	tags := make(chan Tags, 1)
	go func() {
		t, _ := ReadTags(pr)
		_, _ = io.Copy(io.Discard, pr)
		tags <- t
	}()
	stderr, err := run(ctx, sent, pw, loadScript, LoadArgs(c, db, "-")...)
	pw.Close()
	stored := <-tags
	if err != nil {
		return Tags{}, asCut(err, via, sent.N)
	}
	rep, ok := parseReport(stderr)
	switch {
	case !ok:
		return Tags{}, &TruncatedError{Via: via, Got: sent.N, Sent: -1}
	case rep.bytes != sent.N && (rep.inputEnded || rep.exit == 0):
		// psql was given less than was sent and its input ended: the stream
		// was cut, whatever psql said of the statement it was cut in (exit 3
		// for a COPY cut short), and the backup is not to blame.
		return Tags{}, &TruncatedError{Via: via, Got: rep.bytes, Sent: sent.N}
	case rep.exit != 0:
		return Tags{}, ParseExit("psql", rep.exit, rep.stderr)
	}
	return stored, nil
}

// asCut takes a stream whose connection broke for a cut one: what went
// through is thrown away alike, and the work may be done again.
func asCut(err error, via string, got int64) error {
	var broken *BrokenStreamError
	if errors.As(err, &broken) {
		return &TruncatedError{Via: via, Got: got, Sent: -1, Cause: broken}
	}
	return err
}

// report is what the scripts print on stderr after the stream.
type report struct {
	exit       int
	bytes      int64
	sha256     string
	inputEnded bool   // a load's input reached its end, rather than psql stopping
	stderr     string // the program's own stderr: every line not part of the report
}

func parseReport(stderr string) (report, bool) {
	r := report{exit: -1, bytes: -1}
	var rest []string
	for _, line := range strings.Split(stderr, "\n") {
		switch k, v, _ := strings.Cut(strings.TrimSpace(line), " "); k {
		case "stevedore-exit":
			r.exit, _ = strconv.Atoi(v)
		case "stevedore-bytes":
			r.bytes, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		case "stevedore-sha256":
			r.sha256 = v
		case "stevedore-input-end":
			r.inputEnded = v == "0"
		default:
			if strings.TrimSpace(line) != "" {
				rest = append(rest, line)
			}
		}
	}
	r.stderr = strings.Join(rest, "\n")
	return r, r.exit >= 0 && r.bytes >= 0
}
