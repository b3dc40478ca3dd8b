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

	"github.com/stevedore-dev/stevedore/tasks/dumpscan"
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

// RestoreOptions are db:restore's choices beyond the backup.
type RestoreOptions struct {
	Yes        bool // do not ask
	SafetyFile bool // also write a safety backup file of the live database first
}

// Restore is db:restore: choose a backup, confirm, then load it beside the
// live database, check it and swap it in (see pgbackup.Prepare). The live
// database is kept, renamed, until the next restore or db:prune: an undo is
// a rename, and writes made while the backup loaded are in it.
func Restore(ctx context.Context, cfg Config, c Choice, opts RestoreOptions) error {
	s, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.close()
	entry, err := s.pick(ctx, c)
	if err != nil {
		return err
	}
	live := s.db.Credentials().Database
	q := fmt.Sprintf("Replace database %s in %s with backup %s (taken %s)? The current database is kept beside it until the next restore, so this can be undone. [y/N] ",
		live, s.db.Describe(), entry.Name, entry.When.Local().Format("2006-01-02 15:04:05"))
	if err := s.confirm(opts.Yes, q, "go tool mage db:restore -name="+entry.Name+cfg.Target.CommandFlags()); err != nil {
		return err
	}
	free := s.freeSpace(ctx) // asked while the locks are taken
	release, err := s.lock(ctx, "db:restore", true)
	if err != nil {
		return err
	}
	defer release()
	if err := s.checkRoom(ctx, entry, true, free); err != nil {
		return err
	}

	start := time.Now()
	cfg.Out.Step("restoring %s into database %s: loaded beside it, checked, then swapped in", entry.Name, live)
	safety := s.safetyBackup(ctx, opts.SafetyFile)
	progress := cfg.Out.Progress("creating a scratch database")
	prepared, err := pgbackup.Prepare(ctx, s.db, entry, progress, s.retry("loading", nil))
	if safetyErr := safety.wait(); safetyErr != nil {
		progress.Done()
		if err == nil {
			prepared.Discard(ctx)
		}
		return errors.Join(fmt.Errorf("safety backup failed, so nothing was restored: %w", safetyErr), err)
	}
	if err != nil {
		progress.Done()
		return &RestoreError{Err: err, Name: entry.Name, Flags: cfg.Target.CommandFlags()}
	}
	progress.Phase(pgbackup.PhaseSwapping, 0)
	kept, earlier, err := prepared.SwapIn(ctx, time.Now())
	progress.Done()
	if err != nil {
		return &RestoreError{Err: err, Name: entry.Name, Flags: cfg.Target.CommandFlags()}
	}
	check := prepared.Check
	cfg.Out.OK("restored %s in %s: %s", entry.Name, term.Duration(time.Since(start)), checkSummary(check))
	s.tellLimits(check)
	if err := pgbackup.DropKept(ctx, s.db, earlier); err != nil {
		cfg.Out.Warn("the restore is done, but dropping the database the previous restore kept failed: %v", err)
	}
	for _, k := range earlier {
		cfg.Out.Detail("dropped %s (%s), kept by the previous restore", k.Name, term.Bytes(k.Size))
	}
	fmt.Fprintf(cfg.Out.Writer(), "  kept     %s: database %s as it was, writes made during the restore included\n", kept, live)
	fmt.Fprintf(cfg.Out.Writer(), "  undo     go tool mage db:restore -undo%s\n", cfg.Target.CommandFlags())
	return nil
}

// checkSummary says what a check proved, in a few words.
func checkSummary(c pgbackup.Check) string {
	if c.Tables == 0 && c.InsertTables > 0 {
		return "every statement ran"
	}
	return fmt.Sprintf("%s, %s and %s, all as the backup holds them",
		term.Plural(c.Tables, "table"), term.Plural(c.Rows, "row"), term.Plural(c.LargeObjects, "large object"))
}

// tellLimits says what a check could not compare and what it did not run.
func (s *session) tellLimits(c pgbackup.Check) {
	if l := c.Limits(); l != "" {
		s.cfg.Out.Warn("%s", l)
	}
	if len(c.Skipped) > 0 {
		s.cfg.Out.Warn("not run, because they are about the database itself, whose own settings stay: %s", dumpscan.SkippedSummary(c.Skipped))
	}
}

// Undo is db:restore -undo: the database the last restore kept is swapped
// back in, and the one it replaces is kept in its turn.
func Undo(ctx context.Context, cfg Config, yes bool) error {
	s, done, err := openLocked(ctx, cfg, "db:restore -undo", true)
	if err != nil {
		return err
	}
	defer done()
	kept, err := pgbackup.KeptDatabases(ctx, s.db)
	if err != nil {
		return err
	}
	live := s.db.Credentials().Database
	if len(kept) == 0 {
		return &pgbackup.NothingToUndoError{Database: live}
	}
	q := fmt.Sprintf("Put database %s in %s back as it was before the last restore (kept as %s)? The current one is kept in its place. [y/N] ",
		live, s.db.Describe(), kept[0].Name)
	if err := s.confirm(yes, q, "go tool mage db:restore -undo"+cfg.Target.CommandFlags()); err != nil {
		return err
	}
	start := time.Now()
	back, keptNow, err := pgbackup.Undo(ctx, s.db, time.Now())
	var unknown *pgbackup.SwapUnknownError
	if errors.As(err, &unknown) {
		return &RestoreError{Err: err, Flags: cfg.Target.CommandFlags()}
	}
	if err != nil {
		return fmt.Errorf("undo: %w; the database was not changed", err)
	}
	cfg.Out.OK("undone in %s: database %s is back as it was before the restore%s", term.Duration(time.Since(start)), live, keptWhen(back))
	fmt.Fprintf(cfg.Out.Writer(), "  kept     %s: the database the undo replaced\n", keptNow)
	fmt.Fprintf(cfg.Out.Writer(), "  redo     go tool mage db:restore -undo%s\n", cfg.Target.CommandFlags())
	return nil
}

func keptWhen(k pgbackup.Kept) string {
	if k.At.IsZero() {
		return ""
	}
	return " of " + k.At.Local().Format("2006-01-02 15:04:05")
}

// checkRoom makes sure the server can hold the database a load creates
// beside the live one. When it cannot, but can once the previous database
// a restore kept is gone, and dropKept allows, that one is dropped (a
// restore replaces it anyway).
func (s *session) checkRoom(ctx context.Context, e store.Entry, dropKept bool, freeSpace func() (int64, error)) error {
	need := pgbackup.SpaceNeeded(e)
	free, err := freeSpace()
	if err != nil {
		s.cfg.Out.Warn("could not check the server's free space (%v): going on", err)
		return nil
	}
	if free >= need {
		s.cfg.Out.Detail("the server has %s free; the load needs about %s", term.Bytes(free), term.Bytes(need))
		return nil
	}
	if dropKept {
		kept, err := pgbackup.KeptDatabases(ctx, s.db)
		if err != nil {
			return err
		}
		var size int64
		for _, k := range kept {
			size += k.Size
		}
		if len(kept) > 0 && free+size >= need {
			if err := pgbackup.DropKept(ctx, s.db, kept); err != nil {
				return err
			}
			s.cfg.Out.Warn("dropped the previous database the last restore kept (%s, %s) to make room: the server had %s free, the load needs about %s",
				kept[0].Name, term.Bytes(size), term.Bytes(free), term.Bytes(need))
			return nil
		}
	}
	return &NoRoomError{Free: free, Need: need, What: "loading " + e.Name + " beside the live database"}
}

// freeSpace asks the server for its free space now; the answer is read later.
func (s *session) freeSpace(ctx context.Context) func() (int64, error) {
	type answer struct {
		n   int64
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		n, err := s.db.FreeSpace(ctx)
		ch <- answer{n: n, err: err}
	}()
	return func() (int64, error) { a := <-ch; return a.n, a.err }
}

// pending is a safety backup being taken beside other work.
type pending struct{ done chan error }

// safetyBackup starts a safety backup file of the live database, when
// wanted; it reads the live database while the backup loads beside it.
func (s *session) safetyBackup(ctx context.Context, wanted bool) pending {
	p := pending{done: make(chan error, 1)}
	if !wanted {
		p.done <- nil
		return p
	}
	go func() {
		rec, err := s.takeBackup(ctx, "", store.SafetyPrefix, nil)
		if err == nil {
			s.cfg.Out.OK("safety backup %s (%s)", rec.Name, term.Bytes(rec.Size))
		}
		p.done <- err
	}()
	return p
}

func (p pending) wait() error { return <-p.done }

// confirm asks q on a terminal unless yes; without one, it needs -yes.
func (s *session) confirm(yes bool, q, command string) error {
	if yes {
		return nil
	}
	if !s.cfg.InTTY {
		return &ConfirmNeededError{Command: command}
	}
	if ok, err := confirm(s.cfg.In, s.cfg.Out.Writer(), q); err != nil {
		return err
	} else if !ok {
		return ErrCancelled
	}
	return nil
}

// pick resolves a Choice into a backup that can be read: one only the
// bucket holds is pulled first, and an encrypted one must open with the
// identity given.
func (s *session) pick(ctx context.Context, c Choice) (store.Entry, error) {
	e, err := s.choose(c)
	var notHere *store.NotFoundError
	var none *store.NoBackupsError
	switch {
	case errors.As(err, &notHere):
		e, err = s.pullMissing(ctx, c.Name, err)
	case errors.As(err, &none) && s.cfg.Offsite != nil:
		return e, &NoLocalBackupsError{Dir: none.Dir}
	}
	if err != nil {
		return e, err
	}
	return s.readable(e)
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
		return store.Entry{}, &ChoiceNeededError{}
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
