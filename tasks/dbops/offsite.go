package dbops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/crypt"
	"github.com/stevedore-dev/stevedore/tasks/offsite"
	"github.com/stevedore-dev/stevedore/tasks/pgbackup"
	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/store"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// remote opens the bucket the settings name.
func (cfg Config) remote(ctx context.Context) (*offsite.Remote, error) {
	if cfg.Offsite == nil {
		return nil, &NoOffsiteError{}
	}
	return offsite.Open(ctx, cfg.Offsite.Remote())
}

// remoteKeep is how many backups the bucket keeps: its own setting, else
// the folder's.
func (cfg Config) remoteKeep() int {
	if cfg.Offsite != nil && cfg.Offsite.Keep != nil {
		return *cfg.Offsite.Keep
	}
	return cfg.AutoKeep
}

// lockedStore opens the folder and takes its lock, for work that needs no
// database (push, pull).
func lockedStore(ctx context.Context, cfg Config, action string) (*session, func(), error) {
	st, err := openStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	s := &session{cfg: cfg, store: st}
	release, err := s.lock(ctx, action, false)
	if err != nil {
		return nil, nil, err
	}
	return s, release, nil
}

// Push is db:push: it uploads a backup (default: the newest good one) to
// the bucket, checked on the way, then applies the retention there.
func Push(ctx context.Context, cfg Config, name string) error {
	s, release, err := lockedStore(ctx, cfg, "db:push")
	if err != nil {
		return err
	}
	var e store.Entry
	if name != "" {
		e, err = s.store.Find(name)
	} else {
		e, err = s.store.Latest()
	}
	// An upload only reads its file, and may take minutes: the folder is
	// free meanwhile for a scheduled backup. The file is checked against
	// its record as it is read, whatever happens to the folder.
	release()
	if err != nil {
		return err
	}
	r, err := cfg.remote(ctx)
	if err != nil {
		return err
	}
	return s.push(ctx, r, e)
}

// push uploads e unless the bucket has it, then prunes the bucket. A
// failed prune is a warning: the backup is there.
func (s *session) push(ctx context.Context, r *offsite.Remote, e store.Entry) error {
	out := s.cfg.Out
	if err := s.upload(ctx, r, e); err != nil {
		return err
	}
	if err := s.pruneRemote(ctx, r, e.Name); err != nil {
		out.Warn("backup %s is in %s, but pruning the bucket failed: %v", e.Name, r, err)
	}
	return nil
}

func (s *session) upload(ctx context.Context, r *offsite.Remote, e store.Entry) error {
	out := s.cfg.Out
	if there, err := r.Holds(ctx, e); err != nil {
		return err
	} else if there {
		out.OK("backup %s is already in %s", e.Name, r)
		return nil
	}
	out.Step("pushing %s (%s) to %s", e.Name, term.Bytes(e.Size), r)
	start := time.Now()
	progress := out.Progress("uploading")
	err := r.Push(ctx, e, progress)
	progress.Done()
	if err != nil {
		return err
	}
	took := time.Since(start)
	out.OK("pushed %s to %s in %s, %s/s, checked against its record", e.Name, r, term.Duration(took), term.Bytes(int64(float64(e.Size)/max(took.Seconds(), 1e-3))))
	return nil
}

// pruneRemote keeps the newest remoteKeep backups in the bucket (and
// always the newest good one, and pinned).
func (s *session) pruneRemote(ctx context.Context, r *offsite.Remote, pinned string) error {
	if keep := s.cfg.remoteKeep(); keep > 0 {
		return s.pruneBucket(ctx, r, retention.Policy{Last: keep}, false, pinned)
	}
	return nil
}

// PruneRemote is db:prune -remote: the policy applied to the bucket, or
// with dryRun only said.
func PruneRemote(ctx context.Context, cfg Config, p retention.Policy, dryRun bool) error {
	r, err := cfg.remote(ctx)
	if err != nil {
		return err
	}
	s := &session{cfg: cfg}
	return s.pruneBucket(ctx, r, p, dryRun, "")
}

func (s *session) pruneBucket(ctx context.Context, r *offsite.Remote, p retention.Policy, dryRun bool, pinned string) error {
	all, err := r.List(ctx)
	if err != nil {
		return err
	}
	byName := map[string]offsite.Entry{}
	for _, e := range all {
		byName[e.Name] = e
	}
	plan := retention.Plan(retentionItems(offsite.Locals(all), pinned), p)
	if err := s.applyPlan(ctx, plan, p, dryRun, r.String(), func(name string) error { return r.Delete(ctx, byName[name]) }); err != nil || dryRun {
		return err
	}
	left, err := r.RemoveLeftovers(ctx, leftoverGrace)
	for _, name := range left {
		s.cfg.Out.Detail("removed the data of %s from %s: a push that never wrote its record", name, r)
	}
	return err
}

// leftoverGrace is how old data without a record must be before pruning
// removes it: younger, it may be a push still under way elsewhere.
const leftoverGrace = 24 * time.Hour

// Pull is db:pull: it downloads a backup (by name, or the newest good one)
// from the bucket into the folder, checked against its record, and
// returns its name.
func Pull(ctx context.Context, cfg Config, c Choice) (string, error) {
	if c.Name != "" && c.Latest {
		return "", errors.New("pass -name or -latest, not both")
	}
	if c.Name == "" && !c.Latest {
		return "", errors.New("say which backup to pull: -name=NAME, or -latest for the newest good one (see go tool mage db:list -remote)")
	}
	s, release, err := lockedStore(ctx, cfg, "db:pull")
	if err != nil {
		return "", err
	}
	defer release()
	r, err := cfg.remote(ctx)
	if err != nil {
		return "", err
	}
	name := c.Name
	if c.Latest {
		all, err := r.List(ctx)
		if err != nil {
			return "", err
		}
		newest, ok := store.NewestGood(offsite.Locals(all))
		if !ok {
			return "", fmt.Errorf("no good backup in %s: push one with go tool mage db:push", r)
		}
		name = newest.Name
	}
	if here, err := s.store.Find(name); err == nil {
		if there, err := r.Holds(ctx, here); err != nil {
			return "", err
		} else if !there {
			return "", fmt.Errorf("backup %s is in %s but not in %s: push it, or pull another", name, relPath(s.store.Dir), r)
		}
		cfg.Out.OK("backup %s is already in %s", name, relPath(s.store.Dir))
		return name, nil
	}
	_, err = s.pull(ctx, r, name)
	return name, err
}

// pull downloads one backup, with a progress line.
func (s *session) pull(ctx context.Context, r *offsite.Remote, name string) (store.Entry, error) {
	out := s.cfg.Out
	out.Step("pulling %s from %s", name, r)
	start := time.Now()
	progress := out.Progress("downloading")
	e, err := r.Pull(ctx, s.store, name, progress)
	progress.Done()
	if err != nil {
		return e, err
	}
	took := time.Since(start)
	out.OK("pulled %s (%s) in %s, %s/s, checked against its record", name, term.Bytes(e.Size), term.Duration(took), term.Bytes(int64(float64(e.Size)/max(took.Seconds(), 1e-3))))
	return e, nil
}

// pullMissing fetches a backup the folder lacks from the bucket, when
// there is one: db:restore -name of a backup only the team's bucket has.
func (s *session) pullMissing(ctx context.Context, name string, notHere error) (store.Entry, error) {
	if s.cfg.Offsite == nil {
		return store.Entry{}, notHere
	}
	r, err := s.cfg.remote(ctx)
	if err != nil {
		return store.Entry{}, fmt.Errorf("%w (and the bucket: %v)", notHere, err)
	}
	if !s.held {
		l, err := s.store.Acquire(ctx, "db:pull", lockWait)
		if err != nil {
			return store.Entry{}, err
		}
		defer l.Release()
		if _, err := s.store.CleanLeftovers(); err != nil {
			return store.Entry{}, err
		}
	}
	s.cfg.Out.Step("backup %s is not in %s: fetching it from %s", name, relPath(s.store.Dir), r)
	return s.pull(ctx, r, name)
}

// readable sets the identities an encrypted backup needs and checks that
// one of them opens it, before any work starts.
func (s *session) readable(e store.Entry) (store.Entry, error) {
	if e.Record == nil || !e.Record.Encrypted() {
		return e, nil
	}
	ids, err := crypt.Identities(s.cfg.IdentityFile)
	if err != nil {
		return e, err
	}
	e.Identities = ids
	return e, pgbackup.Openable(e)
}

// ListRemote is db:list -remote: the bucket's backups, as a table or JSON.
func ListRemote(ctx context.Context, cfg Config, asJSON bool) error {
	r, err := cfg.remote(ctx)
	if err != nil {
		return err
	}
	all, err := r.List(ctx)
	if err != nil {
		return err
	}
	entries := offsite.Locals(all)
	out := cfg.Out
	if asJSON {
		enc := json.NewEncoder(out.Writer())
		enc.SetIndent("", "  ")
		return enc.Encode(BuildListing(r.String(), entries, "", nil))
	}
	if len(entries) == 0 {
		out.OK("no backups in %s yet", r)
		out.Next("go tool mage db:push")
		return nil
	}
	writeTable(out.Writer(), entries)
	out.OK("%s in %s", term.Plural(len(entries), "backup"), r)
	return nil
}
