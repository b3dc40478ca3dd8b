package pgtarget

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSelect(t *testing.T) {
	up, down := func() bool { return true }, func() bool { return false }
	tests := []struct {
		name       string
		flags      Flags
		docker     func() bool
		cluster    func() bool
		wantKind   Kind
		wantErr    string
		wantReason string
	}{
		{"auto picks Docker when its engine answers", Flags{}, up, up, KindDocker, "", "the Docker engine answers"},
		{"auto picks a cluster only when Docker does not answer", Flags{}, down, up, KindKubernetes, "", "no Docker engine answers, a Kubernetes cluster does"},
		{"nothing answers", Flags{}, down, down, "", "no database target", ""},
		{"-container is Docker without asking", Flags{Container: "db"}, down, up, KindDocker, "", "-container given"},
		{"-pod is Kubernetes without asking", Flags{Pod: "pg-0"}, up, down, KindKubernetes, "", "[-pod] given"},
		{"-kube alone", Flags{Kube: true}, up, down, KindKubernetes, "", "[-kube] given"},
		{"-namespace is Kubernetes", Flags{Namespace: "db"}, up, down, KindKubernetes, "", "[-namespace] given"},
		{"STEVEDORE_TARGET=kubernetes", Flags{Target: "kubernetes"}, up, down, KindKubernetes, "", "STEVEDORE_TARGET=kubernetes"},
		{"STEVEDORE_TARGET=docker", Flags{Target: "docker"}, down, up, KindDocker, "", "STEVEDORE_TARGET=docker"},
		{"STEVEDORE_TARGET=auto", Flags{Target: "auto"}, up, up, KindDocker, "", "the Docker engine answers"},
		{"-container with -pod", Flags{Container: "db", Pod: "pg-0"}, up, up, "", "give one or the other", ""},
		{"-container with -kube", Flags{Container: "db", Kube: true}, up, up, "", "[-kube] are for Kubernetes", ""},
		{"-pod with -selector", Flags{Pod: "pg-0", Selector: "app=pg"}, up, up, "", "-pod and -selector both", ""},
		{"docker target with pod flags", Flags{Target: "docker", Pod: "pg-0"}, up, up, "", "STEVEDORE_TARGET=docker but", ""},
		{"kubernetes target with -container", Flags{Target: "kubernetes", Container: "db"}, up, up, "", "STEVEDORE_TARGET=kubernetes but", ""},
		{"unknown target", Flags{Target: "swarm"}, up, up, "", "use docker, kubernetes or auto", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Select(tt.flags, Probes{Docker: tt.docker, Cluster: tt.cluster})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, sel.Kind)
			assert.Equal(t, tt.wantReason, sel.Reason)
		})
	}
	sel, err := Select(Flags{Kube: true}, Probes{Docker: up, Cluster: up})
	require.NoError(t, err)
	assert.Equal(t, DefaultSelector, sel.Flags.Selector, "app=postgres by default")
	assert.True(t, Flags{KContainer: "pg"}.WantsKubernetes())
	assert.True(t, Flags{Target: KindKubernetes}.WantsKubernetes())
	assert.False(t, Flags{Container: "db", Target: "auto"}.WantsKubernetes())
	asked := false
	_, _ = Select(Flags{Container: "db"}, Probes{Docker: func() bool { asked = true; return true }, Cluster: up})
	assert.False(t, asked, "an explicit choice asks nothing")
}

func pod(name, phase string, ready bool) Pod {
	var p Pod
	p.Metadata.Name = name
	p.Spec.Containers = []struct {
		Name string `json:"name"`
	}{{Name: "postgres"}, {Name: "exporter"}}
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []ContainerStatus{{Name: "postgres", Ready: ready}, {Name: "exporter", Ready: true}}
	return p
}

func TestPodReadiness(t *testing.T) {
	c, err := ReadyContainer(pod("pg-0", "Running", true), "")
	require.NoError(t, err)
	assert.Equal(t, "postgres", c, "the first container by default")
	c, err = ReadyContainer(pod("pg-0", "Running", false), "exporter")
	require.NoError(t, err)
	assert.Equal(t, "exporter", c)
	_, err = ReadyContainer(pod("pg-0", "Running", false), "")
	assert.ErrorContains(t, err, "container postgres of pod pg-0 is not ready")
	_, err = ReadyContainer(pod("pg-0", "Pending", true), "")
	assert.ErrorContains(t, err, "pod pg-0 is Pending, not Running")
	_, err = ReadyContainer(pod("pg-0", "Running", true), "sidecar")
	assert.ErrorContains(t, err, "has no container sidecar")

	p, c, err := PickPod([]Pod{pod("pg-2", "Running", true), pod("pg-1", "Running", false), pod("pg-0", "Pending", true)}, "")
	require.NoError(t, err)
	assert.Equal(t, "pg-2", p.Metadata.Name)
	assert.Equal(t, "postgres", c)
	_, _, err = PickPod([]Pod{pod("pg-1", "Running", false)}, "")
	assert.ErrorContains(t, err, "no ready pod")
}

func TestGoneTellsARestartFromTheSameRun(t *testing.T) {
	run := func(uid, id string, running bool) *Pod {
		var p Pod
		p.Metadata.UID = uid
		cs := ContainerStatus{Name: "postgres", ContainerID: id}
		if running {
			cs.State.Running = &struct{}{}
		}
		p.Status.ContainerStatuses = []ContainerStatus{cs}
		return &p
	}
	was := run("u1", "containerd://a", true).Instance("postgres")
	require.Equal(t, "u1/containerd://a", was)
	for _, tt := range []struct {
		now  *Pod
		want string
	}{
		{run("u1", "containerd://a", true), ""},
		{run("u1", "containerd://a", false), "restarted"}, // it exited; the kubelet has not started the next yet
		{run("u1", "containerd://b", true), "restarted"},
		{run("u1", "", false), "restarted"},
		{run("u2", "containerd://c", true), "was replaced by a new pod of the same name"},
		{nil, "was deleted"},
	} {
		assert.Equal(t, tt.want, Gone(was, tt.now, "postgres"))
	}
	assert.Empty(t, run("u1", "containerd://a", true).Instance("exporter"), "no such container")
}

func TestParsePods(t *testing.T) {
	one, err := ParsePods([]byte(`{"kind":"Pod","metadata":{"name":"pg-0","namespace":"db"},"status":{"phase":"Running"}}`))
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, "db", one[0].Metadata.Namespace)
	list, err := ParsePods([]byte(`{"kind":"List","items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}`))
	require.NoError(t, err)
	assert.Len(t, list, 2)
	_, err = ParsePods([]byte(`not json`))
	assert.Error(t, err)
}

func TestKubectlCommandLines(t *testing.T) {
	assert.Equal(t, []string{"kubectl"}, KubectlBase(Flags{}))
	base := KubectlBase(Flags{Context: "prod", Namespace: "db"})
	assert.Equal(t, []string{"kubectl", "--context", "prod", "-n", "db"}, base)
	assert.Equal(t, []string{"kubectl", "--context", "prod", "-n", "db", "exec", "-i", "pg-0", "-c", "postgres", "--",
		"env", "PGAPPNAME=" + AppName(), "sh", "-c", "SCRIPT", "sh", "psql", "-X"},
		ExecArgs(base, "pg-0", "postgres", true, "SCRIPT", "psql", "-X"))
	for _, script := range []string{dumpScript, loadScript} {
		assert.Contains(t, script, `PGPASSWORD="${POSTGRES_PASSWORD`, "the password comes from the pod's own environment")
	}
}

func TestParseReport(t *testing.T) {
	r, ok := parseReport("pg_dump: warning: x\nstevedore-exit 0\nstevedore-sha256 abc\nstevedore-bytes 42\n")
	assert.True(t, ok)
	assert.Equal(t, report{exit: 0, bytes: 42, sha256: "abc", stderr: "pg_dump: warning: x"}, r)
	_, ok = parseReport("stevedore-exit 0\n") // the byte count never came
	assert.False(t, ok)
	r, ok = parseReport("psql:<stdin>:12: ERROR:  division by zero\nstevedore-input-end 0\nstevedore-bytes 10\nstevedore-exit 3\n")
	assert.True(t, ok)
	assert.Equal(t, 3, r.exit)
	assert.True(t, r.inputEnded)
	assert.Equal(t, "psql:<stdin>:12: ERROR:  division by zero", r.stderr)
}

func TestCommandFlagsReachTheSameDatabase(t *testing.T) {
	assert.Equal(t, "", Flags{}.CommandFlags())
	assert.Equal(t, " -container=shop-db-1", Flags{Container: "shop-db-1"}.CommandFlags())
	assert.Equal(t, " -kube -namespace=shop -selector='app=pg,tier in (db)' -context=prod",
		Flags{Kube: true, Namespace: "shop", Selector: "app=pg,tier in (db)", Context: "prod"}.CommandFlags())
}

// kubectl's words when the runtime could not start an exec in a container
// that is dying, as a real cluster printed them, against other failures.
func TestExecFailedTellsADyingContainer(t *testing.T) {
	for stderr, want := range map[string]bool{
		`error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "4ffb": OCI runtime exec failed: exec failed: unable to start container process: error executing setns process: exit status 1: unknown`: true,
		`error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "3df5": OCI runtime exec failed: exec failed: unable to start container process: error writing config to pipe: write init-p: broken pipe: unknown`:               true,
		`error: unable to upgrade connection: container not found ("postgres")`:                              true,
		"command terminated with exit code 137":                                                              true,
		"command terminated with exit code 143\n":                                                            true,
		"command terminated with exit code 3":                                                                false,
		"command terminated with exit code 1370":                                                             false,
		`Error from server (NotFound): pods "nope-0" not found`:                                              false,
		`The connection to the server 127.0.0.1:40087 was refused - did you specify the right host or port?`: false,
		`Error from server (Forbidden): pods "postgres-0" is forbidden: User "reader" cannot create resource "pods/exec" in API group ""`: false,
	} {
		assert.Equal(t, want, execFailed.MatchString(stderr), stderr)
	}
}

// kubectl's words when an exec's connection broke under a dump (as a real
// cluster printed them) make a BrokenStreamError; other failures do not.
func TestKubectlErrorTellsABrokenStream(t *testing.T) {
	base := []string{"kubectl", "-n", "shop"}
	for stderr, want := range map[string]bool{
		`error: error reading from error stream: read message: read tcp 127.0.0.1:32798->127.0.0.1:35155: read: connection reset by peer`: true,
		`error: unexpected EOF`: true,
		`The connection to the server 127.0.0.1:40087 was refused - did you specify the right host or port?`: false,
		`Error from server (NotFound): pods "nope-0" not found`:                                              false,
		`error: some other failure`: false,
	} {
		var broken *BrokenStreamError
		assert.Equal(t, want, errors.As(kubectlError(base, errors.New("exit status 1"), stderr), &broken), stderr)
	}
}

// A dump or load whose connection broke is a cut stream, counted where it
// broke, so that the backup takes it again; any other error stays itself.
func TestABrokenConnectionIsACutStream(t *testing.T) {
	broke := &BrokenStreamError{Msg: "kubectl exec's connection broke: connection reset by peer"}
	other := errors.New("kubectl: exit status 1: error: some other failure")
	for _, fail := range []error{broke, other} {
		run := func(_ context.Context, stdin io.Reader, stdout io.Writer, _ string, _ ...string) (string, error) {
			if stdin != nil {
				_, _ = io.CopyN(io.Discard, stdin, 100)
			} else {
				_, _ = stdout.Write(make([]byte, 100))
			}
			return "", fail
		}
		dumpErr := streamDump(t.Context(), run, Credentials{}, io.Discard, "kubectl exec")
		_, loadErr := streamLoad(t.Context(), run, Credentials{}, "db", strings.NewReader(strings.Repeat("x", 500)), "kubectl exec")
		for _, err := range []error{dumpErr, loadErr} {
			var cut *TruncatedError
			if fail == other {
				assert.Same(t, other, err)
				continue
			}
			require.ErrorAs(t, err, &cut)
			assert.EqualValues(t, 100, cut.Got)
			assert.ErrorIs(t, err, fail)
			assert.Equal(t, "the stream through kubectl exec broke after 100 bytes: kubectl exec's connection broke: connection reset by peer", err.Error())
		}
	}
}

// A load whose input ended before all of it was sent was cut on its way,
// whatever psql said of the statement it was cut in; a psql that stopped
// reading its input failed on its own, and its error stands.
func TestALoadCutMidStatementIsACutStream(t *testing.T) {
	const copyCut = "psql:<stdin>:40: ERROR:  22P04: missing data for column \"h\"\nCONTEXT:  COPY item, line 371"
	for _, tc := range []struct {
		name, report string
		cut          bool
	}{
		{"cut mid-COPY", copyCut + "\nstevedore-input-end 0\nstevedore-bytes 100\nstevedore-exit 3\n", true},
		{"cut between statements", "stevedore-input-end 0\nstevedore-bytes 100\nstevedore-exit 0\n", true},
		{"psql stopped reading", copyCut + "\nstevedore-input-end 141\nstevedore-bytes 100\nstevedore-exit 3\n", false},
		{"psql failed on the whole input", copyCut + "\nstevedore-input-end 0\nstevedore-bytes 500\nstevedore-exit 3\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(_ context.Context, stdin io.Reader, _ io.Writer, _ string, _ ...string) (string, error) {
				_, _ = io.Copy(io.Discard, stdin)
				return tc.report, nil
			}
			_, err := streamLoad(t.Context(), run, Credentials{}, "db", strings.NewReader(strings.Repeat("x", 500)), "kubectl exec")
			var cut *TruncatedError
			var exit *ExitError
			if tc.cut {
				require.ErrorAs(t, err, &cut)
				assert.Equal(t, TruncatedError{Via: "kubectl exec", Got: 100, Sent: 500}, *cut)
				return
			}
			require.ErrorAs(t, err, &exit)
			assert.True(t, exit.FromScript(), "a verdict on the backup: %v", err)
		})
	}
}
