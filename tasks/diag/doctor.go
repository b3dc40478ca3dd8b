package diag

import (
	"context"

	"github.com/magefile/mage/mg"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
	"github.com/stevedore-dev/stevedore/tasks/settings"
	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Request is what diag:run's flags ask for.
type Request struct {
	Target  pgtarget.Flags // where the database is; Kubernetes flags check a pod instead of the Docker stack
	JSON    bool           // print the report as JSON instead of the checks
	Verbose bool           // show every check's details
}

// Doctor is diag:run: it runs the checks, saves the report in the settings'
// report folder, prints it, and fails (exit status 1) when a check failed.
func Doctor(ctx context.Context, out *term.Printer, s settings.Settings, req Request) error {
	opts := Options{Settings: s}
	if req.Target.WantsKubernetes() {
		// The flags decide: no engine or cluster is asked.
		sel, err := pgtarget.Select(req.Target, pgtarget.Probes{})
		if err != nil {
			return err
		}
		out.Step("target: Kubernetes (%s)", sel.Reason)
		opts.Kube = &sel.Flags
	}
	r, err := Run(ctx, opts)
	if err != nil {
		return err
	}
	path, saveErr := Save(r, s.ReportDir)
	if req.JSON {
		if err := PrintJSON(out, r); err != nil {
			return err
		}
	} else {
		Print(out, r, req.Verbose || out.Verbose())
		if saveErr == nil {
			out.Detail("report: %s", path)
		}
	}
	if saveErr != nil {
		out.Warn("could not write the report: %v", saveErr)
	}
	if r.Summary.Verdict == Fail {
		return mg.Fatal(1, "diag:run found problems")
	}
	return nil
}
