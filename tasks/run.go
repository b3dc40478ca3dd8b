package tasks

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/runlog"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// job is one target run: its name, the command to suggest when it fails,
// the settings its flags give, and whether a missing settings file is made
// from .env.example (env:up's job).
type job struct {
	name, next  string
	flags       settings.Overrides
	makeEnvFile bool
}

// run is every target's frame: the settings, read once; a printer that also
// appends to the run log (.stevedore/stevedore.log: what ran, every command,
// how it ended); the work; and on failure the verdict line, the next
// command and the exit code.
func run(ctx context.Context, j job, work func(out *term.Printer, s settings.Settings) error) error {
	s, loadErr := settings.Load(ctx, j.flags, j.makeEnvFile)
	var opts []term.Option
	log, logErr := runlog.Open(s.LogFile(), strings.Join(os.Args[1:], " "))
	if logErr == nil {
		opts = append(opts, term.WithLog(log))
	}
	out := term.New(os.Stdout, opts...)
	if logErr != nil {
		out.Detail("no run log: %v", logErr)
	}
	for _, w := range s.Warnings {
		out.Detail("compose: %s", w)
	}
	start := time.Now()
	err, next := loadErr, j.next
	if err == nil {
		err = work(out, s)
	} else {
		next = "go tool mage env:init" // the settings are wrong: show what was found
	}
	if loadErr == nil {
		tell(ctx, out, s, j.name, err, next, time.Since(start))
	}
	var decided interface{ ExitStatus() int }
	if err != nil && !errors.As(err, &decided) { // work that set its own exit status has said why
		err = out.Failed(j.name, err, next)
	}
	if log != nil {
		log.Close(err, time.Since(start))
	}
	return err
}
