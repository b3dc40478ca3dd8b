package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func sampleKubeJob(t *testing.T) KubeJob {
	return KubeJob{
		Name:           "stevedore-shop-backup",
		Namespace:      "shop",
		Schedule:       mustInterval(t, "15m").Cron(),
		Image:          "stevedore/cli:local",
		Args:           []string{"db:backup", "-kube", "-selector=app=postgres", "true", "1", "null", "#x", "a: b"},
		SecretName:     "stevedore-shop",
		ServiceAccount: "stevedore-shop-backup",
	}
}

// kubeDocs decodes a multi-document manifest into JSON values, as a
// JSON schema validator and the API server see them.
func kubeDocs(t *testing.T, manifest []byte) []map[string]any {
	t.Helper()
	var docs []map[string]any
	d := yaml.NewDecoder(bytes.NewReader(manifest))
	for {
		var doc map[string]any
		err := d.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		docs = append(docs, doc)
	}
}

// The schemas of Kubernetes v1.32.2, strict: unknown fields are errors
// (see testdata/kubernetes-json-schema/README.md).
func kubeSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	dir := filepath.Join("testdata", "kubernetes-json-schema", "v1.32.2-standalone-strict")
	schemas := map[string]*jsonschema.Schema{}
	c := jsonschema.NewCompiler()
	for kind, file := range map[string]string{
		"ServiceAccount": "serviceaccount-v1.json",
		"Role":           "role-rbac-v1.json",
		"RoleBinding":    "rolebinding-rbac-v1.json",
		"CronJob":        "cronjob-batch-v1.json",
	} {
		s, err := c.Compile(filepath.Join(dir, file))
		require.NoError(t, err)
		schemas[kind] = s
	}
	return schemas
}

func validateKube(schemas map[string]*jsonschema.Schema, doc map[string]any) error {
	kind, _ := doc["kind"].(string)
	schema, ok := schemas[kind]
	if !ok {
		return errors.New("no schema for kind " + kind)
	}
	// Through JSON, so numbers are what the validator expects.
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return schema.Validate(v)
}

func TestCronJobManifestPassesTheKubernetesSchemas(t *testing.T) {
	schemas := kubeSchemas(t)
	manifest, err := CronJobManifest(sampleKubeJob(t))
	require.NoError(t, err)
	docs := kubeDocs(t, manifest)
	require.Len(t, docs, 4)
	for i, kind := range []string{"ServiceAccount", "Role", "RoleBinding", "CronJob"} {
		assert.Equal(t, kind, docs[i]["kind"])
		assert.NoError(t, validateKube(schemas, docs[i]), kind)
	}
}

// The check above can fail: the strict schemas reject a misspelt field, a
// wrong type, a missing required field, a wrong apiVersion.
func TestTheKubernetesSchemasRejectABrokenManifest(t *testing.T) {
	schemas := kubeSchemas(t)
	manifest, err := CronJobManifest(sampleKubeJob(t))
	require.NoError(t, err)
	container := []any{"spec", "jobTemplate", "spec", "template", "spec", "containers", 0}
	for _, c := range []struct {
		name  string
		doc   int
		path  []any
		value any
		want  string
	}{
		{"misspelt container field", 3, append(container, "imagePullPolcy"), "Always", "additional properties 'imagePullPolcy' not allowed"},
		{"unknown CronJob spec field", 3, []any{"spec", "retries"}, 3, "additional properties 'retries' not allowed"},
		{"backoffLimit as a string", 3, []any{"spec", "jobTemplate", "spec", "backoffLimit"}, "one", "got string, want null or integer"},
		{"an argument that is no string", 3, append(container, "args", 0), true, "got boolean, want null or string"},
		{"concurrencyPolicy as a number", 3, []any{"spec", "concurrencyPolicy"}, 1, "got number, want null or string"},
		{"unknown rule field", 1, []any{"rules", 0, "verb"}, "get", "additional properties 'verb' not allowed"},
		{"no roleRef", 2, []any{"roleRef"}, nil, "missing property 'roleRef'"},
		{"wrong apiVersion", 0, []any{"apiVersion"}, "v2", "value must be 'v1'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := kubeDocs(t, manifest)[c.doc]
			set(t, doc, c.path, c.value)
			err := validateKube(schemas, doc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// set puts value at path (map keys and slice indexes) in doc; nil deletes.
func set(t *testing.T, doc map[string]any, path []any, value any) {
	t.Helper()
	var at any = doc
	for _, step := range path[:len(path)-1] {
		switch step := step.(type) {
		case string:
			at = at.(map[string]any)[step]
		case int:
			at = at.([]any)[step]
		}
	}
	switch last := path[len(path)-1].(type) {
	case string:
		if value == nil {
			delete(at.(map[string]any), last)
			return
		}
		at.(map[string]any)[last] = value
	case int:
		at.([]any)[last] = value
	}
}

func TestCronJobManifestSaysWhatItShould(t *testing.T) {
	k := sampleKubeJob(t)
	manifest, err := CronJobManifest(k)
	require.NoError(t, err)
	docs := kubeDocs(t, manifest)
	require.Len(t, docs, 4)
	for _, doc := range docs {
		meta := doc["metadata"].(map[string]any)
		assert.Equal(t, "shop", meta["namespace"], doc["kind"])
	}
	assert.Equal(t, "stevedore-shop-backup", docs[0]["metadata"].(map[string]any)["name"])

	assert.Equal(t, []any{
		map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get", "list"}},
		map[string]any{"apiGroups": []any{""}, "resources": []any{"pods/exec"}, "verbs": []any{"create"}},
	}, docs[1]["rules"], "the Role grants exactly pods get/list and pods/exec create")

	assert.Equal(t, []any{map[string]any{"kind": "ServiceAccount", "name": k.ServiceAccount, "namespace": "shop"}}, docs[2]["subjects"])
	assert.Equal(t, map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": k.Name}, docs[2]["roleRef"])

	job := docs[3]
	assert.Equal(t, "batch/v1", job["apiVersion"])
	spec := job["spec"].(map[string]any)
	assert.Equal(t, "*/15 * * * *", spec["schedule"])
	assert.Equal(t, "Forbid", spec["concurrencyPolicy"])
	assert.Equal(t, 600, spec["startingDeadlineSeconds"])
	assert.Equal(t, 3, spec["successfulJobsHistoryLimit"])
	assert.Equal(t, 3, spec["failedJobsHistoryLimit"])
	jobSpec := spec["jobTemplate"].(map[string]any)["spec"].(map[string]any)
	assert.Contains(t, []any{0, 1}, jobSpec["backoffLimit"])
	pod := jobSpec["template"].(map[string]any)["spec"].(map[string]any)
	assert.Equal(t, "Never", pod["restartPolicy"])
	assert.Equal(t, true, pod["automountServiceAccountToken"])
	assert.Equal(t, k.ServiceAccount, pod["serviceAccountName"])
	containers := pod["containers"].([]any)
	require.Len(t, containers, 1)
	assert.Equal(t, map[string]any{
		"name":            "stevedore",
		"env":             []any{map[string]any{"name": "STEVEDORE_SCHEDULED", "value": "1"}},
		"image":           "stevedore/cli:local",
		"imagePullPolicy": "IfNotPresent",
		"args":            []any{"db:backup", "-kube", "-selector=app=postgres", "true", "1", "null", "#x", "a: b"},
		"envFrom":         []any{map[string]any{"secretRef": map[string]any{"name": "stevedore-shop"}}},
		"resources":       map[string]any{"requests": map[string]any{"cpu": "50m", "memory": "64Mi"}},
	}, containers[0], "secrets come from the Secret only, never inline env")
}

func TestKubeJobValidateRejects(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*KubeJob)
		want   string
	}{
		{"uppercase name", func(k *KubeJob) { k.Name = "Stevedore" }, `name "Stevedore"`},
		{"name too long for a CronJob", func(k *KubeJob) { k.Name = strings.Repeat("a", 53) }, "at most 52"},
		{"no namespace", func(k *KubeJob) { k.Namespace = "" }, `namespace ""`},
		{"namespace with dot", func(k *KubeJob) { k.Namespace = "a.b" }, `namespace "a.b"`},
		{"secret with underscore", func(k *KubeJob) { k.SecretName = "my_secret" }, `secret "my_secret"`},
		{"no service account", func(k *KubeJob) { k.ServiceAccount = "" }, `service account ""`},
		{"schedule of four fields", func(k *KubeJob) { k.Schedule = "* * * *" }, "not a five-field cron expression"},
		{"no image", func(k *KubeJob) { k.Image = "" }, `image ""`},
		{"two images", func(k *KubeJob) { k.Image = "a b" }, `image "a b"`},
		{"newline in an argument", func(k *KubeJob) { k.Args = append(k.Args, "a\nb") }, "control character U+000A"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := sampleKubeJob(t)
			c.change(&k)
			_, err := CronJobManifest(k)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
