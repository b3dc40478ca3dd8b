package tasks

import (
	"context"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Push uploads a backup (default: the newest good one) to the offsite bucket, checked against its record, then prunes the bucket.
func (Db) Push(ctx context.Context,
	name *string, // the backup to push (default: the newest good one)
) error {
	return run(ctx, job{name: "db:push", next: "go tool mage db:list -remote"}, func(out *term.Printer, s settings.Settings) error {
		return dbops.Push(ctx, dbConfig(out, s, where{}), str(name))
	})
}

// Pull downloads a backup from the offsite bucket into database/backups, checked against its record; -latest -restore brings a new machine the team's newest good backup in one go.
func (Db) Pull(ctx context.Context,
	name *string, // the backup to pull
	latest *bool, // the newest good backup in the bucket
	restore *bool, // restore it once pulled (asks first on a terminal; -yes does not)
	yes *bool, // with -restore: do not ask for confirmation
	identity *string, // age identity file that opens an encrypted backup (default: STEVEDORE_AGE_IDENTITY, STEVEDORE_AGE_IDENTITY_FILE)
	container *string, // with -restore: a running PostgreSQL container (default: the stack's db service)
	kube *bool, // with -restore: the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:pull", "go tool mage db:list -remote"), func(out *term.Printer, s settings.Settings) error {
		cfg := dbConfig(out, s, w)
		cfg.IdentityFile = str(identity)
		got, err := dbops.Pull(ctx, cfg, dbops.Choice{Name: str(name), Latest: flag(latest)})
		if err != nil || !flag(restore) {
			return err
		}
		return dbops.Restore(ctx, cfg, dbops.Choice{Name: got}, dbops.RestoreOptions{Yes: flag(yes)})
	})
}
