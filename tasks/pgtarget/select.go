package pgtarget

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind is where a database runs.
type Kind string

// Kinds of target; KindAuto (or "") lets Select decide.
const (
	KindDocker     Kind = "docker"
	KindKubernetes Kind = "kubernetes"
	KindAuto       Kind = "auto"
)

// DefaultSelector finds PostgreSQL pods when neither -pod nor -selector is given.
const DefaultSelector = "app=postgres"

// Flags are what a user said about where the database is: the db targets'
// flags and STEVEDORE_TARGET.
type Flags struct {
	Target     Kind   // STEVEDORE_TARGET: docker, kubernetes or auto (empty: auto)
	Container  string // -container (or STEVEDORE_DB_CONTAINER)
	Kube       bool   // -kube
	Namespace  string // -namespace
	Pod        string // -pod
	Selector   string // -selector
	KContainer string // -kcontainer
	Context    string // -context (kubeconfig context)
}

// Selection is the target chosen and why, which is always said out loud.
type Selection struct {
	Kind   Kind
	Reason string
	Flags  Flags
}

func (f Flags) kubeFlags() []string {
	var given []string
	for _, kv := range []struct{ name, v string }{
		{"-namespace", f.Namespace}, {"-pod", f.Pod}, {"-selector", f.Selector}, {"-kcontainer", f.KContainer}, {"-context", f.Context},
	} {
		if kv.v != "" {
			given = append(given, kv.name)
		}
	}
	if f.Kube {
		given = append([]string{"-kube"}, given...)
	}
	return given
}

// CommandFlags spells the flags that reach the same database again, for
// the commands stevedore suggests next: "" when the defaults do.
func (f Flags) CommandFlags() string {
	var b strings.Builder
	if f.Kube {
		b.WriteString(" -kube")
	}
	for _, kv := range []struct{ name, v string }{
		{"container", f.Container}, {"namespace", f.Namespace}, {"pod", f.Pod}, {"selector", f.Selector},
		{"kcontainer", f.KContainer}, {"context", f.Context},
	} {
		if kv.v != "" {
			b.WriteString(" -" + kv.name + "=" + shellWord(kv.v))
		}
	}
	return b.String()
}

// shellWord quotes s for a shell when it holds more than plain characters.
func shellWord(s string) string {
	if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,@-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WantsKubernetes reports whether the flags or STEVEDORE_TARGET ask for a pod.
func (f Flags) WantsKubernetes() bool {
	return f.Target == KindKubernetes || len(f.kubeFlags()) > 0
}

// Probes tell Select whether each kind of target answers; each is asked
// only when the flags leave the choice open, and a nil one answers no.
type Probes struct {
	Docker  func() bool // the Docker engine answers
	Cluster func() bool // a Kubernetes cluster answers
}

// Select decides between Docker and Kubernetes. Explicit choices win and
// conflicting ones are an error; otherwise Docker when its engine answers,
// Kubernetes when only a cluster answers.
func Select(f Flags, answers Probes) (Selection, error) {
	kube := f.kubeFlags()
	switch {
	case f.Target != "" && f.Target != KindAuto && f.Target != KindDocker && f.Target != KindKubernetes:
		return Selection{}, fmt.Errorf("STEVEDORE_TARGET=%s: use docker, kubernetes or auto", f.Target)
	case f.Container != "" && len(kube) > 0:
		return Selection{}, fmt.Errorf("-container names a Docker container but %v are for Kubernetes: give one or the other", kube)
	case f.Pod != "" && f.Selector != "":
		return Selection{}, errors.New("-pod and -selector both name the pod: give one")
	case f.Target == KindDocker && len(kube) > 0:
		return Selection{}, fmt.Errorf("STEVEDORE_TARGET=docker but %v are for Kubernetes", kube)
	case f.Target == KindKubernetes && f.Container != "":
		return Selection{}, errors.New("STEVEDORE_TARGET=kubernetes but -container names a Docker container")
	}
	if f.Selector == "" && f.Pod == "" {
		f.Selector = DefaultSelector
	}
	switch {
	case f.Target == KindKubernetes:
		return Selection{Kind: KindKubernetes, Reason: "STEVEDORE_TARGET=kubernetes", Flags: f}, nil
	case len(kube) > 0:
		return Selection{Kind: KindKubernetes, Reason: fmt.Sprintf("%v given", kube), Flags: f}, nil
	case f.Target == KindDocker:
		return Selection{Kind: KindDocker, Reason: "STEVEDORE_TARGET=docker", Flags: f}, nil
	case f.Container != "":
		return Selection{Kind: KindDocker, Reason: "-container given", Flags: f}, nil
	case answers.Docker != nil && answers.Docker():
		return Selection{Kind: KindDocker, Reason: "the Docker engine answers", Flags: f}, nil
	case answers.Cluster != nil && answers.Cluster():
		return Selection{Kind: KindKubernetes, Reason: "no Docker engine answers, a Kubernetes cluster does", Flags: f}, nil
	}
	return Selection{}, errors.New("no database target: the Docker engine does not answer and no Kubernetes cluster does (kubectl)")
}

// Pod is the part of `kubectl get pod -o json` stevedore reads.
type Pod struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Name string `json:"name"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase             string            `json:"phase"`
		ContainerStatuses []ContainerStatus `json:"containerStatuses"`
	} `json:"status"`
}

// ContainerStatus is the part of a pod's container status stevedore reads.
type ContainerStatus struct {
	Name        string `json:"name"`
	Ready       bool   `json:"ready"`
	ContainerID string `json:"containerID"` // another after each restart
	State       struct {
		Running *struct{} `json:"running"`
	} `json:"state"`
}

// ParsePods reads `kubectl get pod NAME -o json` (one pod) or
// `kubectl get pods -l SEL -o json` (a list).
func ParsePods(data []byte) ([]Pod, error) {
	var list struct {
		Kind  string `json:"kind"`
		Items []Pod  `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("read kubectl's pod JSON: %w", err)
	}
	if list.Kind == "Pod" {
		var p Pod
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, err
		}
		return []Pod{p}, nil
	}
	return list.Items, nil
}

// ReadyContainer returns the container of p to run in (container, or the
// pod's first), or why it cannot be used: the pod must be Running and that
// container ready.
func ReadyContainer(p Pod, container string) (string, error) {
	if container == "" {
		if len(p.Spec.Containers) == 0 {
			return "", fmt.Errorf("pod %s has no containers", p.Metadata.Name)
		}
		container = p.Spec.Containers[0].Name
	}
	if p.Status.Phase != "Running" {
		return "", fmt.Errorf("pod %s is %s, not Running", p.Metadata.Name, orUnknown(p.Status.Phase))
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			if !cs.Ready {
				return "", fmt.Errorf("container %s of pod %s is not ready", container, p.Metadata.Name)
			}
			return container, nil
		}
	}
	return "", fmt.Errorf("pod %s has no container %s", p.Metadata.Name, container)
}

// Instance identifies one run of container in p: a restart of the
// container, or a new pod of the same name, is another instance, and the
// empty string means the container does not run.
func (p Pod) Instance(container string) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Running != nil && cs.ContainerID != "" {
			return p.Metadata.UID + "/" + cs.ContainerID
		}
	}
	return ""
}

// Gone says what became of the container instance was, given the pod of
// that name now (nil: there is none): "" while it is the same run.
func Gone(was string, now *Pod, container string) string {
	switch {
	case now == nil:
		return "was deleted"
	case now.Instance(container) == was:
		return ""
	case !strings.HasPrefix(was, now.Metadata.UID+"/"):
		return "was replaced by a new pod of the same name"
	default:
		return "restarted"
	}
}

// PickPod returns the first pod, by name, whose container is ready, or why
// none is.
func PickPod(pods []Pod, container string) (Pod, string, error) {
	if len(pods) == 0 {
		return Pod{}, "", errors.New("no pod found")
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Metadata.Name < pods[j].Metadata.Name })
	var why []string
	for _, p := range pods {
		c, err := ReadyContainer(p, container)
		if err == nil {
			return p, c, nil
		}
		why = append(why, err.Error())
	}
	return Pod{}, "", fmt.Errorf("no ready pod: %v", why)
}

func orUnknown(s string) string {
	if s == "" {
		return "in an unknown phase"
	}
	return s
}
