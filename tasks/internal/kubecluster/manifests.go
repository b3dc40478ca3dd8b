//go:build linux

package kubecluster

import (
	"strings"

	"github.com/stevedore-dev/stevedore/tasks/images"
)

// PostgresStatefulSet is PostgreSQL as a team runs it in Kubernetes: a
// namespace, and a StatefulSet postgres (pod postgres-0, label app=postgres)
// whose password comes from a Secret. Its data is on an emptyDir volume,
// which outlives a restart of the container (not a deletion of the pod), as
// a team's volume claim would. The readiness probe goes over TCP:
// the image's first start runs a socket-only server for its init scripts
// and then restarts it.
func PostgresStatefulSet(namespace, password string) string {
	return strings.NewReplacer("{{namespace}}", namespace, "{{password}}", password).Replace(`
apiVersion: v1
kind: Namespace
metadata:
  name: {{namespace}}
---
apiVersion: v1
kind: Secret
metadata:
  name: postgres
  namespace: {{namespace}}
stringData:
  password: {{password}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
  namespace: {{namespace}}
spec:
  serviceName: postgres
  replicas: 1
  selector:
    matchLabels:
      app: postgres
  template:
    metadata:
      labels:
        app: postgres
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: postgres
        image: ` + images.Postgres.Ref + `
        imagePullPolicy: Never
        env:
        - name: POSTGRES_PASSWORD
          valueFrom:
            secretKeyRef:
              name: postgres
              key: password
        volumeMounts:
        - name: data
          mountPath: /var/lib/postgresql/data
        readinessProbe:
          exec:
            command: ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]
          periodSeconds: 1
      volumes:
      - name: data
        emptyDir: {}
`)
}
