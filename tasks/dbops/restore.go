package dbops

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Choice says which backup a restore or verify takes.
type Choice struct {
	Name   string
	Latest bool
}

// ErrCancelled is a user's "no" at a menu or a confirmation.
var ErrCancelled = errors.New("cancelled: nothing was changed")

// ChoiceNeededError asks for -name or -latest where no one can answer a menu.
type ChoiceNeededError struct{}

func (ChoiceNeededError) Error() string {
	return "which backup? pass -name=NAME or -latest (no terminal to show a menu on)"
}

// Next lists the names.
func (ChoiceNeededError) Next() string { return "go tool mage db:list" }

// ConfirmNeededError asks for -yes where no one can confirm.
type ConfirmNeededError struct{ Name string }

func (e ConfirmNeededError) Error() string {
	return "restoring replaces the database; without a terminal to confirm on, pass -yes"
}

// Next is the same command, confirmed.
func (e ConfirmNeededError) Next() string {
	return "go tool mage db:restore -name=" + e.Name + " -yes"
}

// Restore is db:restore: choose a backup, confirm, take a safety backup of
// the database as it is, then restore (see pgbackup.Restore).
func Restore(ctx context.Context, cfg Config, c Choice, yes bool) error {
	s, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	entry, err := s.choose(c)
	if err != nil {
		return err
	}
	if !yes {
		if !cfg.InTTY {
			return ConfirmNeededError{Name: entry.Name}
		}
		q := fmt.Sprintf("Replace database %s in %s with backup %s (taken %s)? A safety backup is taken first. [y/N] ",
			s.db.Credentials().Database, s.db.Describe(), entry.Name, entry.When.Local().Format("2006-01-02 15:04:05"))
		if ok, err := confirm(cfg.In, cfg.Out.Writer(), q); err != nil {
			return err
		} else if !ok {
			return ErrCancelled
		}
	}
	l, err := s.lock(ctx, "db:restore")
	if err != nil {
		return err
	}
	defer l.Release()

	// The safety backup reads the live database while the backup is loaded
	// beside it: they touch different databases, and only the swap, after
	// both, changes the live one.
	start := time.Now()
	cfg.Out.Step("restoring %s into database %s (loaded beside it, checked, then swapped in), with a safety backup of it meanwhile",
		entry.Name, s.db.Credentials().Database)
	var safety *store.Record
	var safetyErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		safety, safetyErr = s.backupQuiet(ctx, store.SafetyPrefix)
	}()
	progress := cfg.Out.Progress("restoring")
	check, err := pgbackup.Prepare(ctx, s.db, entry, progress)
	progress.Done()
	<-done
	if safetyErr != nil {
		if err == nil {
			pgbackup.Discard(ctx, s.db)
		}
		return errors.Join(fmt.Errorf("safety backup failed, so nothing was restored: %w", safetyErr), err)
	}
	cfg.Out.OK("safety backup %s (%s)", safety.Name, term.Bytes(safety.Size))
	if err == nil {
		err = pgbackup.Swap(ctx, s.db)
	}
	if err != nil {
		return &RestoreError{Err: err, Safety: safety.Name}
	}
	cfg.Out.OK("restored %s in %s: %s, %s, %s, all as the backup holds them",
		entry.Name, term.Duration(time.Since(start)), plural(check.Tables, "table"), plural(check.Rows, "row"), plural(check.LargeObjects, "large object"))
	cfg.Out.Detail("undo with: go tool mage db:restore -name=%s", safety.Name)
	return nil
}

// RestoreError is a failed restore: the database is as it was.
type RestoreError struct {
	Err    error
	Safety string
}

func (e *RestoreError) Error() string {
	return fmt.Sprintf("%v; the database was not changed", e.Err)
}

func (e *RestoreError) Unwrap() error { return e.Err }

// Next checks the backup on its own.
func (e *RestoreError) Next() string { return "go tool mage db:verify -name=" + nameOf(e.Err) }

func nameOf(err error) string {
	var ce *pgbackup.ChecksumError
	if errors.As(err, &ce) {
		return ce.Name
	}
	return "NAME"
}

// choose resolves a Choice, showing a menu on a terminal when it is empty.
func (s *session) choose(c Choice) (store.Entry, error) {
	switch {
	case c.Name != "" && c.Latest:
		return store.Entry{}, errors.New("pass -name or -latest, not both")
	case c.Name != "":
		return s.store.Find(c.Name)
	case c.Latest:
		return s.store.Latest()
	case !s.cfg.InTTY:
		return store.Entry{}, ChoiceNeededError{}
	}
	entries, err := s.store.List()
	if err != nil {
		return store.Entry{}, err
	}
	if len(entries) == 0 {
		return s.store.Latest() // says there are none, and what to run
	}
	fmt.Fprint(s.cfg.Out.Writer(), Menu(entries))
	return AskChoice(s.cfg.In, s.cfg.Out.Writer(), entries)
}

// Menu numbers the backups, newest first; 0 cancels.
func Menu(entries []store.Entry) string {
	var b strings.Builder
	b.WriteString("Backups, newest first:\n")
	for i, e := range entries {
		state := ""
		if v := e.Verified(); v != nil && !v.OK {
			state = "  (failed verification)"
		} else if e.Legacy != "" {
			state = "  (old script's " + e.Legacy + ")"
		}
		fmt.Fprintf(&b, "  %2d  %-32s %s  %8s%s\n", i+1, e.Name, e.When.Local().Format("2006-01-02 15:04:05"), term.Bytes(e.Size), state)
	}
	b.WriteString("   0  cancel\n")
	return b.String()
}

// AskChoice reads a menu number until it is valid; 0 or end of input cancels.
func AskChoice(in io.Reader, out io.Writer, entries []store.Entry) (store.Entry, error) {
	sc := bufio.NewScanner(in)
	for {
		fmt.Fprintf(out, "Restore which backup? [0-%d] ", len(entries))
		if !sc.Scan() {
			return store.Entry{}, ErrCancelled
		}
		n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		switch {
		case err != nil || n < 0 || n > len(entries):
			fmt.Fprintf(out, "type a number from 0 to %d\n", len(entries))
		case n == 0:
			return store.Entry{}, ErrCancelled
		default:
			return entries[n-1], nil
		}
	}
}

func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
