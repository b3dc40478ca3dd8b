package tasks

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/diag"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
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
		opts := diag.Options{Settings: s}
		if t := dbConfig(out, s, w).Target; t.WantsKubernetes() {
			sel, err := pgtarget.Select(t, func() bool { return false }, func() bool { return true })
			if err != nil {
				return err
			}
			out.Step("target: Kubernetes (%s)", sel.Reason)
			opts.Kube = &sel.Flags
		}
		r, err := diag.Run(ctx, opts)
		if err != nil {
			return err
		}
		path, saveErr := diag.Save(r, s.ReportDir)
		if flag(json) {
			if err := diag.PrintJSON(out, r); err != nil {
				return err
			}
		} else {
			diag.Print(out, r, flag(verbose) || out.Verbose())
			if saveErr == nil {
				out.Detail("report: %s", path)
			}
		}
		if saveErr != nil {
			out.Warn("could not write the report: %v", saveErr)
		}
		if r.Summary.Verdict == diag.Fail {
			return mg.Fatal(1, "diag:run found problems")
		}
		return nil
	})
}
