package pgbackup

import (
	"context"
	"errors"

	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// StreamAttempts is how many times a dump or a load runs when its stream
// is cut short on its way: kubectl exec is known to end a stream early and
// still report success (kubernetes/kubernetes#124571; seen here on a real
// cluster, 92 MB into a dump). The stream protocol catches the cut, what
// arrived is thrown away, and the work is done again.
const StreamAttempts = 3

// Retry hears that work whose stream was cut short is done again: the
// cut, and the attempt about to start.
type Retry func(cut *pgtarget.TruncatedError, attempt int)

// retryCut runs do until it succeeds, fails for another reason than a cut
// stream, or has run StreamAttempts times.
func retryCut(ctx context.Context, retry Retry, do func() error) error {
	for attempt := 1; ; attempt++ {
		err := do()
		var cut *pgtarget.TruncatedError
		if err == nil || attempt == StreamAttempts || ctx.Err() != nil || !errors.As(err, &cut) {
			return err
		}
		if retry != nil {
			retry(cut, attempt+1)
		}
	}
}
