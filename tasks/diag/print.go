package diag

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/stevedore-dev/stevedore/tasks/term"
)

// Print shows the report: a mark per check, details only when verbose, the
// next command under every check that is not ok, and the verdict last.
func Print(out *term.Printer, r *Report, verbose bool) {
	for _, c := range r.Checks {
		switch c.Status {
		case OK:
			out.OK("%s", c.Summary)
		case Warn:
			out.Warn("%s", c.Summary)
		default:
			out.Fail("%s", c.Summary)
		}
		if verbose {
			keys := make([]string, 0, len(c.Details))
			for k := range c.Details {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(out.Writer(), "      %s: %s\n", k, c.Details[k])
			}
			fmt.Fprintf(out.Writer(), "      (%d ms)\n", c.TookMS)
		}
		if c.Status != OK && c.Next != "" {
			out.Next(c.Next)
		}
	}
	line := fmt.Sprintf("%s (%d ms)", r.VerdictLine(), r.DurationMS)
	switch r.Summary.Verdict {
	case OK:
		out.OK("%s", line)
	case Warn:
		out.Warn("%s", line)
	default:
		out.Fail("%s", line)
	}
}

// PrintJSON writes the report as JSON.
func PrintJSON(out *term.Printer, r *Report) error {
	enc := json.NewEncoder(out.Writer())
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
