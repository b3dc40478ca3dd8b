package schedule

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// KubeJob is a schedule run inside a Kubernetes cluster, next to the
// database, by the stevedore CLI image.
type KubeJob struct {
	Name, Namespace string   // resource names, e.g. "stevedore-shop-backup"
	Schedule        string   // cron expression, e.g. from Interval.Cron; in the cluster's time zone, usually UTC
	Image           string   // the stevedore CLI image, e.g. "stevedore/cli:local"
	Args            []string // e.g. ["db:backup", "-kube", "-selector=app=postgres"]
	SecretName      string   // the container's environment comes from this Secret (PGPASSWORD, AWS_ACCESS_KEY_ID…), never inline
	ServiceAccount  string   // created with a Role that lets it find pods and exec into them
}

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// maxCronJobName leaves room for the suffix the CronJob controller adds to
// the Jobs it creates (63 minus 11).
const maxCronJobName = 52

// Validate reports the first field Kubernetes would reject.
func (k KubeJob) Validate() error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("kubernetes schedule %q: "+format, append([]any{k.Name}, a...)...)
	}
	names := []struct {
		field, value string
		pattern      *regexp.Regexp
		max          int
	}{
		{"name", k.Name, dnsLabel, maxCronJobName},
		{"namespace", k.Namespace, dnsLabel, 63},
		{"secret", k.SecretName, dnsSubdomain, 253},
		{"service account", k.ServiceAccount, dnsSubdomain, 253},
	}
	for _, n := range names {
		if !n.pattern.MatchString(n.value) || len(n.value) > n.max {
			return fail("%s %q: use lowercase letters, digits and inner dashes, at most %d", n.field, n.value, n.max)
		}
	}
	if len(strings.Fields(k.Schedule)) != 5 {
		return fail("schedule %q is not a five-field cron expression", k.Schedule)
	}
	if k.Image == "" || strings.ContainsAny(k.Image, " \t") {
		return fail("image %q: give one image reference", k.Image)
	}
	for _, s := range append([]string{k.Schedule, k.Image}, k.Args...) {
		if err := plainText(s); err != nil {
			return fail("%w", err)
		}
	}
	return nil
}

// The manifest's objects: just the fields it sets, so yaml.v3 does the
// quoting ("*/15 * * * *", "1") and a typo here cannot hide.
type (
	objectMeta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	kubeObject struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
	}
	policyRule struct {
		APIGroups []string `yaml:"apiGroups"`
		Resources []string `yaml:"resources"`
		Verbs     []string `yaml:"verbs"`
	}
	role struct {
		kubeObject `yaml:",inline"`
		Rules      []policyRule `yaml:"rules"`
	}
	subject struct {
		Kind      string `yaml:"kind"`
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	}
	roleRef struct {
		APIGroup string `yaml:"apiGroup"`
		Kind     string `yaml:"kind"`
		Name     string `yaml:"name"`
	}
	roleBinding struct {
		kubeObject `yaml:",inline"`
		Subjects   []subject `yaml:"subjects"`
		RoleRef    roleRef   `yaml:"roleRef"`
	}
	cronJob struct {
		kubeObject `yaml:",inline"`
		Spec       cronJobSpec `yaml:"spec"`
	}
	cronJobSpec struct {
		Schedule                   string      `yaml:"schedule"`
		ConcurrencyPolicy          string      `yaml:"concurrencyPolicy"`
		StartingDeadlineSeconds    int         `yaml:"startingDeadlineSeconds"`
		SuccessfulJobsHistoryLimit int         `yaml:"successfulJobsHistoryLimit"`
		FailedJobsHistoryLimit     int         `yaml:"failedJobsHistoryLimit"`
		JobTemplate                jobTemplate `yaml:"jobTemplate"`
	}
	templateMeta struct {
		Labels map[string]string `yaml:"labels"`
	}
	jobTemplate struct {
		Metadata templateMeta `yaml:"metadata"`
		Spec     jobSpec      `yaml:"spec"`
	}
	jobSpec struct {
		BackoffLimit int         `yaml:"backoffLimit"`
		Template     podTemplate `yaml:"template"`
	}
	podTemplate struct {
		Metadata templateMeta `yaml:"metadata"`
		Spec     podSpec      `yaml:"spec"`
	}
	podSpec struct {
		ServiceAccountName           string      `yaml:"serviceAccountName"`
		AutomountServiceAccountToken bool        `yaml:"automountServiceAccountToken"`
		RestartPolicy                string      `yaml:"restartPolicy"`
		Containers                   []container `yaml:"containers"`
	}
	container struct {
		Name            string    `yaml:"name"`
		Image           string    `yaml:"image"`
		ImagePullPolicy string    `yaml:"imagePullPolicy"`
		Args            []string  `yaml:"args"`
		Env             []envVar  `yaml:"env"`
		EnvFrom         []envFrom `yaml:"envFrom"`
		Resources       resources `yaml:"resources"`
	}
	envVar struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	}
	envFrom struct {
		SecretRef localRef `yaml:"secretRef"`
	}
	localRef struct {
		Name string `yaml:"name"`
	}
	resources struct {
		Requests map[string]string `yaml:"requests"`
	}
)

// CronJobManifest is the YAML, four documents, that runs k in its
// namespace: a ServiceAccount; a Role allowing exactly what a kube backup
// needs (find the database pod, exec into it); their RoleBinding; and the
// CronJob. It never runs two backups at once, does not retry a failed one
// more than once, and keeps the last three of each outcome to read logs from.
func CronJobManifest(k KubeJob) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	labels := map[string]string{"app.kubernetes.io/name": "stevedore", "app.kubernetes.io/instance": k.Name}
	object := func(apiVersion, kind, name string) kubeObject {
		return kubeObject{APIVersion: apiVersion, Kind: kind, Metadata: objectMeta{Name: name, Namespace: k.Namespace, Labels: labels}}
	}
	const rbac = "rbac.authorization.k8s.io"
	pod := podSpec{
		ServiceAccountName:           k.ServiceAccount,
		AutomountServiceAccountToken: true, // it talks to the API server to find and exec into the database pod
		RestartPolicy:                "Never",
		Containers: []container{{
			Name:            "stevedore",
			Image:           k.Image,
			ImagePullPolicy: "IfNotPresent",
			Args:            k.Args,
			Env:             []envVar{{Name: ScheduledEnv, Value: "1"}}, // the webhook hears its failures
			EnvFrom:         []envFrom{{SecretRef: localRef{Name: k.SecretName}}},
			Resources:       resources{Requests: map[string]string{"cpu": "50m", "memory": "64Mi"}},
		}},
	}
	job := cronJob{kubeObject: object("batch/v1", "CronJob", k.Name), Spec: cronJobSpec{
		Schedule:          k.Schedule,
		ConcurrencyPolicy: "Forbid",
		// A run that cannot start within 10 minutes of its time is skipped
		// rather than started late.
		StartingDeadlineSeconds:    600,
		SuccessfulJobsHistoryLimit: 3,
		FailedJobsHistoryLimit:     3,
		JobTemplate: jobTemplate{Metadata: templateMeta{Labels: labels}, Spec: jobSpec{
			BackoffLimit: 1,
			Template:     podTemplate{Metadata: templateMeta{Labels: labels}, Spec: pod},
		}},
	}}

	docs := []any{
		object("v1", "ServiceAccount", k.ServiceAccount),
		role{kubeObject: object(rbac+"/v1", "Role", k.Name), Rules: []policyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
		}},
		roleBinding{
			kubeObject: object(rbac+"/v1", "RoleBinding", k.Name),
			Subjects:   []subject{{Kind: "ServiceAccount", Name: k.ServiceAccount, Namespace: k.Namespace}},
			RoleRef:    roleRef{APIGroup: rbac, Kind: "Role", Name: k.Name},
		},
		job,
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("kubernetes schedule %q: %w", k.Name, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("kubernetes schedule %q: %w", k.Name, err)
	}
	return b.Bytes(), nil
}
