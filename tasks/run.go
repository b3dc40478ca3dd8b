package tasks

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/runlog"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// run is every target's frame: a printer that also appends to the run log
// (.stevedore/stevedore.log: what ran, every command, how it ended), the
// work, and on failure the verdict line, the next command and the exit code.
func run(target, next string, work func(out *term.Printer) error) error {
	var opts []term.Option
	log, logErr := runlog.Open(stack.DefaultSettings().LogFile, strings.Join(os.Args[1:], " "))
	if logErr == nil {
		opts = append(opts, term.WithLog(log))
	}
	out := term.New(os.Stdout, opts...)
	if logErr != nil {
		out.Detail("no run log: %v", logErr)
	}
	start := time.Now()
	err := work(out)
	var decided interface{ ExitStatus() int }
	if err != nil && !errors.As(err, &decided) { // work that set its own exit status has said why
		err = out.Failed(target, err, next)
	}
	if log != nil {
		log.Close(err, time.Since(start))
	}
	return err
}
