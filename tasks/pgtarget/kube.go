package pgtarget

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/tasks/proc"
)

// Kube is a database in a Kubernetes pod, reached with the user's kubectl
// (so kubeconfig, contexts and credentials plugins work as they do for the
// user). Client programs run in the pod's own container: versions match.
type Kube struct {
	base      []string // kubectl [--context C] [-n NS]
	pod       string
	container string
	namespace string
	instance  string      // the container's run found at the start (Pod.Instance)
	creds     Credentials // the password never leaves the pod
}

// watchEvery is how often a stream checks that its container still runs:
// kubectl exec can wait for good on a container that died under it (seen
// with containerd when PostgreSQL restarts during an index build).
const watchEvery = 3 * time.Second

// KubectlBase is the kubectl command with the context and namespace flags.
func KubectlBase(f Flags) []string {
	base := []string{"kubectl"}
	if f.Context != "" {
		base = append(base, "--context", f.Context)
	}
	if f.Namespace != "" {
		base = append(base, "-n", f.Namespace)
	}
	return base
}

// inPodPassword sets PGPASSWORD inside the container from its own
// environment (POSTGRES_PASSWORD, which a Secret may fill, or the file
// POSTGRES_PASSWORD_FILE names), so the password is never on a command line.
const inPodPassword = `PGPASSWORD="${POSTGRES_PASSWORD:-${PGPASSWORD:-}}"
if [ -z "$PGPASSWORD" ] && [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then PGPASSWORD=$(cat "$POSTGRES_PASSWORD_FILE"); fi
export PGPASSWORD
`

// ExecArgs is the kubectl exec command line that runs script with args in
// the pod's container (stdin attached when it is fed).
func ExecArgs(base []string, pod, container string, stdin bool, script string, args ...string) []string {
	out := append(append([]string(nil), base...), "exec")
	if stdin {
		out = append(out, "-i")
	}
	out = append(out, pod, "-c", container, "--", "env", "PGAPPNAME="+AppName(), "sh", "-c", script, "sh")
	return append(out, args...)
}

// kubectlError turns kubectl's complaint into an UnavailableError with the next command.
func kubectlError(base []string, err error, stderr string) error {
	msg := orNoMessage(proc.LastLine(stderr))
	switch {
	case strings.Contains(stderr, "Unable to connect to the server"), strings.Contains(stderr, "connection refused"),
		strings.Contains(stderr, "The connection to the server"): // "… was refused - did you specify the right host or port?"
		return &UnavailableError{Msg: "Kubernetes cluster not reachable: " + msg, NextCmd: strings.Join(append(base[:len(base):len(base)], "cluster-info"), " ")}
	case strings.Contains(stderr, "NotFound"):
		return &UnavailableError{Msg: msg, NextCmd: strings.Join(append(base[:len(base):len(base)], "get", "pods"), " ")}
	case errors.Is(err, exec.ErrNotFound):
		return &UnavailableError{Msg: "kubectl is not installed", NextCmd: "kubectl version --client"}
	}
	if denied, ok := Forbidden(stderr); ok {
		return &UnavailableError{Msg: denied.String(), NextCmd: strings.Join(append(base[:len(base):len(base)], denied.CanI()...), " ")}
	}
	if streamBroke.MatchString(msg) { // kubectl's own last word, not the program's output
		return &BrokenStreamError{Msg: "kubectl exec's connection broke: " + msg, Err: err}
	}
	return fmt.Errorf("kubectl: %w: %s", err, msg)
}

// streamBroke are kubectl's words when the connection of an exec broke
// under it (seen on a real cluster in the middle of a dump).
var streamBroke = regexp.MustCompile(`error reading from error stream|connection reset by peer|unexpected EOF|use of closed network connection|http2: stream closed`)

// Denied is a permission RBAC refused: who may not do what.
type Denied struct{ User, Verb, Resource, Namespace string }

func (d Denied) String() string {
	where := ""
	if d.Namespace != "" {
		where = " in namespace " + d.Namespace
	}
	return fmt.Sprintf("Kubernetes user %s may not %s %s%s (RBAC): ask for a Role that grants %q on %q", d.User, d.Verb, d.Resource, where, d.Verb, d.Resource)
}

// CanI is the kubectl check of the permission, without kubectl itself.
func (d Denied) CanI() []string { return []string{"auth", "can-i", d.Verb, d.Resource} }

var forbidden = regexp.MustCompile(`User "([^"]+)" cannot (\w+) resource "([^"]+)"(?: in API group "[^"]*")?(?: in the namespace "([^"]+)")?`)

// Forbidden reads the permission the API server refused from kubectl's
// error output.
func Forbidden(stderr string) (Denied, bool) {
	m := forbidden.FindStringSubmatch(stderr)
	if m == nil {
		return Denied{}, false
	}
	return Denied{User: m[1], Verb: m[2], Resource: m[3], Namespace: m[4]}, true
}

// ClusterAnswers reports whether kubectl reaches a cluster.
func ClusterAnswers(ctx context.Context, f Flags) bool {
	args := append(KubectlBase(f), "get", "--raw", "/readyz")
	return exec.CommandContext(ctx, args[0], args[1:]...).Run() == nil
}

// OpenPod finds the pod (-pod, or the first ready pod matching -selector),
// checks that it is Running and its container ready, and reads the user,
// database and port from the container's environment.
func OpenPod(ctx context.Context, f Flags) (*Kube, error) {
	base := KubectlBase(f)
	which := []string{"pods", "-l", f.Selector}
	if f.Pod != "" {
		which = []string{"pod", f.Pod}
	}
	out, stderr, err := getJSON(ctx, base, which...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, kubectlError(base, err, stderr)
	}
	pods, err := ParsePods(out)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, noPod(ctx, base, f)
	}
	pod, container, err := PickPod(pods, f.KContainer)
	if err != nil {
		return nil, &UnavailableError{Msg: err.Error(), NextCmd: strings.Join(append(base, "get", "pods"), " ")}
	}
	k := &Kube{base: base, pod: pod.Metadata.Name, container: container, namespace: pod.Metadata.Namespace, instance: pod.Instance(container)}
	vars, err := k.run(ctx, nil, nil, `printf '%s\n%s\n%s\n' "${POSTGRES_USER:-postgres}" "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" "${PGPORT:-5432}"`)
	if err != nil {
		return nil, err
	}
	f3 := strings.Split(strings.TrimSpace(vars), "\n")
	if len(f3) != 3 {
		return nil, fmt.Errorf("read the database settings of pod %s: unexpected %q", k.pod, vars)
	}
	k.creds = Credentials{User: f3[0], Database: f3[1], Port: f3[2]}
	return k, nil
}

// noPod says why the selector matched nothing: the namespace does not
// exist, when kubectl can tell (a user may not read namespaces), or no pod
// in it has the labels.
func noPod(ctx context.Context, base []string, f Flags) error {
	if f.Namespace != "" {
		if _, stderr, err := getJSON(ctx, base, "namespace", f.Namespace); err != nil && strings.Contains(stderr, "NotFound") {
			return &UnavailableError{Msg: fmt.Sprintf("namespace %s does not exist", f.Namespace),
				NextCmd: strings.Join(append(base[:len(base):len(base)], "get", "namespaces"), " ")}
		}
	}
	return &UnavailableError{Msg: fmt.Sprintf("no pod matches %s%s", f.Selector, inNamespace(f)),
		NextCmd: strings.Join(append(base[:len(base):len(base)], "get", "pods", "--show-labels"), " ")}
}

// getJSON runs kubectl get what -o json: its output, or its error output.
func getJSON(ctx context.Context, base []string, what ...string) ([]byte, string, error) {
	argv := append(append(append([]string(nil), base...), "get"), what...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], "-o", "json")...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

func inNamespace(f Flags) string {
	if f.Namespace == "" {
		return " in the current namespace"
	}
	return " in namespace " + f.Namespace
}

// Describe names the pod.
func (k *Kube) Describe() string {
	if k.namespace != "" {
		return fmt.Sprintf("pod %s/%s (container %s)", k.namespace, k.pod, k.container)
	}
	return fmt.Sprintf("pod %s (container %s)", k.pod, k.container)
}

// Credentials are the user, database and port; the password stays in the pod.
func (k *Kube) Credentials() Credentials { return k.creds }

// run runs script with args in the pod and returns its standard output.
// It ends, with a clear error, as soon as the container restarts or the
// pod goes (checked every watchEvery, so quick calls never check).
func (k *Kube) run(ctx context.Context, stdin io.Reader, stdout io.Writer, script string, args ...string) (string, error) {
	argv := ExecArgs(k.base, k.pod, k.container, stdin != nil, script, args...)
	execCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	cmd := exec.CommandContext(execCtx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	go k.watch(execCtx, stop)
	stderr := &proc.Tail{}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var gone *UnavailableError
		if errors.As(context.Cause(execCtx), &gone) {
			return "", gone
		}
		// kubectl's own words for an exec into a dead container are
		// runtime internals; what happened to the pod says it better.
		if err := k.goneAfter(ctx, stderr.String()); err != nil {
			return "", err
		}
		return "", kubectlError(k.base, err, stderr.String())
	}
	if stdout != nil {
		return stderr.String(), nil // the caller reads the stream; stderr holds the report
	}
	return out.String(), nil
}

// watch stops the stream when its container is gone.
func (k *Kube) watch(ctx context.Context, stop context.CancelCauseFunc) {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if gone := k.gone(ctx); gone != nil {
				stop(gone)
				return
			}
		}
	}
}

// execFailed are kubectl's words when the runtime could not start or keep
// an exec in the container: it is dying, or gone. A process of the exec
// killed (exit 128+9) or terminated (128+15) is what a stopping container
// does to it, before the pod's status says the container restarted.
var execFailed = regexp.MustCompile(`failed to exec in container|OCI runtime exec failed|container not found|cannot exec in a stopped|command terminated with exit code 1(37|43)\b`)

// goneSettles is how long an exec that failed that way waits for the pod's
// status to show what happened: the kubelet notices a dead container within
// a second or two.
const goneSettles = 10 * time.Second

// goneAfter is gone, for a command that failed with stderr: when the exec
// itself failed, it waits for the pod's status to catch up.
func (k *Kube) goneAfter(ctx context.Context, stderr string) error {
	if !execFailed.MatchString(stderr) {
		return k.gone(ctx)
	}
	wait, cancel := context.WithTimeout(ctx, goneSettles)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := k.gone(wait); err != nil {
			return err
		}
		select {
		case <-wait.Done():
			return nil
		case <-tick.C:
		}
	}
}

// gone says the container run at the start has ended, if kubectl can tell:
// an error reaching the cluster says nothing about the pod.
func (k *Kube) gone(ctx context.Context) error {
	out, stderr, err := getJSON(ctx, k.base, "pod", k.pod)
	var now *Pod
	switch {
	case err == nil:
		pods, perr := ParsePods(out)
		if perr != nil || len(pods) != 1 {
			return nil
		}
		now = &pods[0]
	case !strings.Contains(stderr, "NotFound"):
		return nil
	}
	what := Gone(k.instance, now, k.container)
	if what == "" {
		return nil
	}
	return &UnavailableError{
		Msg:     fmt.Sprintf("%s %s while stevedore was using it", k.Describe(), what),
		NextCmd: strings.Join(append(k.base[:len(k.base):len(k.base)], "describe", "pod", k.pod), " "),
	}
}

// Query runs psql in the pod's container.
func (k *Kube) Query(ctx context.Context, db, sql string) (string, error) {
	return k.run(ctx, nil, nil, inPodPassword+`exec "$@"`, PsqlQueryArgs(k.creds, db, sql)...)
}

// Hold runs psql in the pod with kubectl's standard input open: releasing
// it, or this process dying (kubectl then reads the end of its input),
// ends the session.
func (k *Kube) Hold(ctx context.Context, db, sql string) (string, func(), error) {
	argv := ExecArgs(k.base, k.pod, k.container, true, inPodPassword+`exec "$@"`, HoldArgs(k.creds, db, sql)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	out, stderr := newLineReader(), &proc.Tail{}
	cmd.Stdout, cmd.Stderr = out, stderr
	if err := cmd.Start(); err != nil {
		return "", nil, kubectlError(k.base, err, "")
	}
	exited := make(chan error, 1)
	go func() { err := cmd.Wait(); out.close(err); exited <- err }()
	first, err := out.first(ctx)
	if err != nil {
		stdin.Close()
		_ = cmd.Process.Kill()
		if werr := <-exited; werr != nil && ctx.Err() == nil {
			return "", nil, kubectlError(k.base, werr, stderr.String())
		}
		return "", nil, errors.Join(ctx.Err(), err)
	}
	release := func() {
		stdin.Close()
		<-exited
	}
	return first, release, nil
}

// FreeSpace runs df in the pod's container.
func (k *Kube) FreeSpace(ctx context.Context) (int64, error) {
	out, err := k.run(ctx, nil, nil, FreeSpaceScript)
	if err != nil {
		return 0, err
	}
	return ParseFreeSpace(out)
}

// Dump streams pg_dump from the pod into w, then proves that every byte
// arrived: count and sha256 as the pod saw them against what came through.
func (k *Kube) Dump(ctx context.Context, w io.Writer) error {
	return k.whyCut(ctx, streamDump(ctx, k.run, k.creds, w, "kubectl exec"))
}

// Load runs psql in the pod on r and checks that psql was given every byte.
func (k *Kube) Load(ctx context.Context, db string, r io.Reader) (Tags, error) {
	tags, err := streamLoad(ctx, k.run, k.creds, db, r, "kubectl exec")
	return tags, k.whyCut(ctx, err)
}

// whyCut says why a stream was cut short when the pod can tell: a
// container that restarted or a pod that went is the cause, and no reason
// to try again.
func (k *Kube) whyCut(ctx context.Context, err error) error {
	var cut *TruncatedError
	if errors.As(err, &cut) {
		if gone := k.gone(ctx); gone != nil {
			return gone
		}
	}
	return err
}
