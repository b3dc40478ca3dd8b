package stack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/engine"
	"github.com/stevedore-dev/stevedore/tasks/settings"
)

// LogOptions are env:logs's flags.
type LogOptions struct {
	Service string
	Follow  bool
	Tail    int    // lines per service; 0 means all
	Since   string // a duration (10m) or a timestamp, as the Engine API takes it
}

// tailLogs returns the last n lines a container wrote, stdout and stderr.
func tailLogs(ctx context.Context, eng *engine.Engine, id string, n int) (string, error) {
	rc, err := eng.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b strings.Builder
	if _, err := stdcopy.StdCopy(&b, &b, rc); err != nil {
		return b.String(), err
	}
	return b.String(), nil
}

// Logs is env:logs: each service's log lines prefixed with its name, from
// the Engine API; with Follow it streams until interrupted.
func Logs(ctx context.Context, s settings.Settings, w io.Writer, opts LogOptions) error {
	eng, services, err := connectAndObserve(ctx, s)
	if err != nil {
		return err
	}
	defer eng.Close()
	var chosen []Service
	var names []string
	for _, svc := range services {
		names = append(names, svc.Name)
		if opts.Service == "" || svc.Name == opts.Service {
			chosen = append(chosen, svc)
		}
	}
	if len(chosen) == 0 {
		if opts.Service != "" {
			return fmt.Errorf("no service %q in %s (services: %s)", opts.Service, s.Project, strings.Join(names, ", "))
		}
		return &StackDownError{Project: s.Project}
	}
	width := 0
	for _, svc := range chosen {
		width = max(width, len(svc.Name))
	}
	tail := "all"
	if opts.Tail > 0 {
		tail = strconv.Itoa(opts.Tail)
	}
	streams := make([]io.ReadCloser, 0, len(chosen))
	closeAll := func() {
		for _, rc := range streams {
			rc.Close()
		}
	}
	for _, svc := range chosen {
		rc, err := eng.ContainerLogs(ctx, svc.ID, client.ContainerLogsOptions{
			ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: tail, Since: opts.Since,
		})
		if err != nil {
			closeAll()
			return fmt.Errorf("logs of %s: %w", svc.Name, err)
		}
		streams = append(streams, rc)
	}
	var mu sync.Mutex // whole lines from several services, never interleaved mid-line
	var wg sync.WaitGroup
	errs := make(chan error, len(chosen))
	for i, svc := range chosen {
		rc := streams[i]
		prefix := fmt.Sprintf("%-*s | ", width, svc.Name)
		pr, pw := io.Pipe()
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer rc.Close()
			_, err := stdcopy.StdCopy(pw, pw, rc)
			pw.CloseWithError(err)
		}()
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				mu.Lock()
				fmt.Fprintln(w, prefix+sc.Text())
				mu.Unlock()
			}
			if err := sc.Err(); err != nil && ctx.Err() == nil {
				errs <- err
			}
			pr.Close()
		}()
	}
	wg.Wait()
	close(errs)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return <-errs
}
