package tasks

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/diag"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Diag is the doctor.
type Diag mg.Namespace

// Run checks the machine, the stack's services, the api, the database and the backups, and says what to type next.
func (Diag) Run(ctx context.Context,
	json *bool, // print the report as JSON (schema in docs/diagnostic.schema.json) instead of the checks
	verbose *bool, // show every check's details
	kube *bool, // check the database in a Kubernetes pod instead of the Docker stack
	namespace *string, // Kubernetes namespace (default: the context's)
	pod *string, // Kubernetes pod
	selector *string, // Kubernetes label selector for the pod (default app=postgres)
	kcontainer *string, // container in the pod (default: its first)
	context *string, // kubeconfig context (default: the current one)
) error {
	w := where{namespace: namespace, pod: pod, selector: selector, kcontainer: kcontainer, kubeContext: context, kube: kube}
	return run(ctx, job{name: "diag:run"}, func(out *term.Printer, s settings.Settings) error {
		return diag.Doctor(ctx, out, s, diag.Request{Target: w.target(s), JSON: flag(json), Verbose: flag(verbose)})
	})
}
