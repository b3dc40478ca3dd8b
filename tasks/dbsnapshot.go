package tasks

import (
	"context"

	"github.com/stevedore-dev/stevedore/tasks/dbops"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/stack"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Snapshot copies the database on its own server in seconds (not a backup: it dies with the server's volume); db:rollback goes back to it.
func (Db) Snapshot(ctx context.Context,
	name *string, // snapshot name (default: its time, YYYYMMDD-HHMMSS)
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:snapshot", "go tool mage db:snapshots"), func(out *term.Printer, s settings.Settings) error {
		return dbops.Snapshot(ctx, dbConfig(out, s, w), str(name))
	})
}

// Snapshots lists the database's snapshots on its server, newest first (name, when taken, size).
func (Db) Snapshots(ctx context.Context,
	json *bool, // print a JSON document (schema in the README) instead of the table
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:snapshots", ""), func(out *term.Printer, s settings.Settings) error {
		return dbops.Snapshots(ctx, dbConfig(out, s, w), flag(json))
	})
}

// Rollback puts the database back to a snapshot by a rename, in seconds whatever its size; the state it replaces is kept as a snapshot, and -undo brings it back.
func (Db) Rollback(ctx context.Context,
	to *string, // the snapshot (default: the newest one a rollback did not replace)
	undo *bool, // go back to the state the last rollback replaced
	keep *bool, // copy the snapshot first (seconds per GB, the application runs on), so that it stays for another rollback
	container *string, // a running PostgreSQL container (default: the stack's db service)
	kube *bool, // the database is in a Kubernetes pod (see -pod, -selector)
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{container: container, namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, w.job("db:rollback", "go tool mage db:snapshots"), func(out *term.Printer, s settings.Settings) error {
		return dbops.Rollback(ctx, dbConfig(out, s, w), dbops.RollbackOptions{To: str(to), Undo: flag(undo), Keep: flag(keep)})
	})
}

// Migrate takes a snapshot, runs the project's migration command (x-stevedore.migrate) in its service, and rolls back to the snapshot if it fails.
func (Db) Migrate(ctx context.Context,
	down *bool, // run the command that reverts the last migration instead
) error {
	// No location flags: the command runs in the stack's service, so the
	// database guarded is the stack's own.
	return run(ctx, job{name: "db:migrate", next: "go tool mage -v db:migrate"}, func(out *term.Printer, s settings.Settings) error {
		return stack.Migrate(ctx, s, out, flag(down))
	})
}

// Seed takes a snapshot, runs the project's seed command (x-stevedore.seed) in its service, and rolls back to the snapshot if it fails.
func (Db) Seed(ctx context.Context) error {
	return run(ctx, job{name: "db:seed", next: "go tool mage -v db:seed"}, func(out *term.Printer, s settings.Settings) error {
		return stack.Seed(ctx, s, out)
	})
}
