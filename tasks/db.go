package tasks

import (
	"context"
	"errors"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/retention"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Db backs up, lists, verifies, restores and prunes the stack's PostgreSQL database.
type Db mg.Namespace

// where is the database's location as the db targets' flags give it.
type where struct {
	container, namespace, pod, selector, kcontainer, kubeContext *string
	kube                                                         *bool
}

// job is the db target's run: -container is a setting.
func (w where) job(name, next string) job {
	return job{name: name, next: next, flags: settings.Overrides{Container: str(w.container)}}
}

// dbConfig is the settings' dbops.Config printing on out, with the
// location flags applied.
func dbConfig(out *term.Printer, s settings.Settings, w where) dbops.Config {
	cfg := dbops.NewConfig(s)
	cfg.Out = out
	cfg.Target = w.target(s)
	return cfg
}

// target is where the settings put the database, with the location flags
// applied.
func (w where) target(s settings.Settings) pgtarget.Flags {
	t := dbops.TargetOf(s)
	for _, f := range []struct {
		flag *string
		dst  *string
	}{{w.namespace, &t.Namespace}, {w.pod, &t.Pod}, {w.selector, &t.Selector},
		{w.kcontainer, &t.KContainer}, {w.kubeContext, &t.Context}} {
		if f.flag != nil {
			*f.dst = *f.flag
		}
	}
	t.Kube = flag(w.kube)
	return t
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func flag(p *bool) bool { return p != nil && *p }

// Backup dumps the database into database/backups and prints the file, its checksum and the command that restores it.
func (Db) Backup(ctx context.Context,
	name *string, // backup name (default backup_YYYYMMDD_HHMMSS)
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:backup", "go tool mage -v db:backup"), func(out *term.Printer, s settings.Settings) error {
		return dbops.Backup(ctx, dbConfig(out, s, w), str(name))
	})
}

// List shows the backups, newest first (name, when taken, size, database, server version, last verification), and the previous database the last restore kept.
func (Db) List(ctx context.Context,
	json *bool, // print a JSON document (schema in the README) instead of the table
	remote *bool, // list the backups in the offsite bucket instead (x-stevedore.offsite)
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:list", ""), func(out *term.Printer, s settings.Settings) error {
		cfg := dbConfig(out, s, w)
		if flag(remote) {
			return dbops.ListRemote(ctx, cfg, flag(json))
		}
		return dbops.List(ctx, cfg, flag(json))
	})
}

// Restore replaces the database with a backup, loaded beside it, checked and swapped in; the replaced database is kept until the next restore, and -undo swaps it back.
func (Db) Restore(ctx context.Context,
	name *string, // the backup to restore (default: a menu on a terminal)
	latest *bool, // restore the newest good backup
	undo *bool, // put back the database the last restore replaced (the replaced one is kept in turn)
	yes *bool, // do not ask for confirmation
	safety *bool, // also write a safety backup file of the database first (pre-restore_...)
	identity *string, // age identity file that opens an encrypted backup (default: STEVEDORE_AGE_IDENTITY, STEVEDORE_AGE_IDENTITY_FILE)
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:restore", "go tool mage db:list"), func(out *term.Printer, s settings.Settings) error {
		cfg := dbConfig(out, s, w)
		cfg.IdentityFile = str(identity)
		if flag(undo) {
			if str(name) != "" || flag(latest) {
				return errors.New("-undo puts back the database the last restore replaced: pass it without -name or -latest")
			}
			return dbops.Undo(ctx, cfg, flag(yes))
		}
		return dbops.Restore(ctx, cfg, dbops.Choice{Name: str(name), Latest: flag(latest)}, dbops.RestoreOptions{Yes: flag(yes), SafetyFile: flag(safety)})
	})
}

// Verify proves a backup restores: a restore into a scratch database, checksummed on the way, tables and rows compared.
func (Db) Verify(ctx context.Context,
	name *string, // the backup to verify (default: the newest)
	identity *string, // age identity file that opens an encrypted backup (default: STEVEDORE_AGE_IDENTITY, STEVEDORE_AGE_IDENTITY_FILE)
	container *string, // a running PostgreSQL container whose server hosts the scratch database
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:verify", "go tool mage db:list"), func(out *term.Printer, s settings.Settings) error {
		cfg := dbConfig(out, s, w)
		cfg.IdentityFile = str(identity)
		return dbops.Verify(ctx, cfg, str(name))
	})
}

// Prune deletes old backups (keeps the last 10, optionally the newest of each day, week, month; never the newest good one) and drops the database the last restore kept.
func (Db) Prune(ctx context.Context,
	keep *int, // how many of the newest backups to keep (default 10)
	daily *int, // also keep the newest backup of each of the last N days
	weekly *int, // also keep the newest backup of each of the last N weeks
	monthly *int, // also keep the newest backup of each of the last N months
	dryrun *bool, // print the plan, change nothing
	remote *bool, // prune the offsite bucket instead
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	p := retention.DefaultPolicy
	for _, f := range []struct {
		v   *int
		dst *int
	}{{keep, &p.Last}, {daily, &p.Daily}, {weekly, &p.Weekly}, {monthly, &p.Monthly}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:prune", ""), func(out *term.Printer, s settings.Settings) error {
		if flag(remote) {
			return dbops.PruneRemote(ctx, dbConfig(out, s, w), p, flag(dryrun))
		}
		return dbops.Prune(ctx, dbConfig(out, s, w), p, flag(dryrun))
	})
}
