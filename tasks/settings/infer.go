package settings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// postgresImages are image names (the last path element, tag dropped) that
// run PostgreSQL with the official image's contract.
var postgresImages = []string{"postgres", "postgresql", "postgis", "timescaledb", "timescaledb-ha", "pgvector"}

// serverEnv are variables only a PostgreSQL server's container sets;
// clients set POSTGRES_HOST beside them.
var serverEnv = []string{"POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_HOST_AUTH_METHOD", "POSTGRES_INITDB_ARGS"}

// ImageName is the name of an image reference without registry, path, tag
// or digest: "docker.io/library/postgres:15-alpine" is "postgres".
func ImageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	name, _, _ := strings.Cut(ref, ":")
	return strings.ToLower(name)
}

func isPostgresImage(ref string) bool {
	name := ImageName(ref)
	for _, p := range postgresImages {
		if name == p {
			return true
		}
	}
	return false
}

func setsServerEnv(s types.ServiceConfig) bool {
	if _, client := s.Environment["POSTGRES_HOST"]; client {
		return false
	}
	for _, k := range serverEnv {
		if _, ok := s.Environment[k]; ok {
			return true
		}
	}
	return false
}

// InferDatabase picks the PostgreSQL service of a project: the one service
// running a postgres image, else the one service setting a server's
// POSTGRES_* variables. It says why, or why it cannot choose.
func InferDatabase(services types.Services) (name, why string, err error) {
	byImage, byEnv := []string{}, []string{}
	for n, s := range services {
		switch {
		case isPostgresImage(s.Image):
			byImage = append(byImage, n)
		case setsServerEnv(s):
			byEnv = append(byEnv, n)
		}
	}
	sort.Strings(byImage)
	sort.Strings(byEnv)
	switch {
	case len(byImage) == 1:
		return byImage[0], fmt.Sprintf("the only service on a PostgreSQL image (%s)", services[byImage[0]].Image), nil
	case len(byImage) > 1:
		return "", "", fmt.Errorf("several services run PostgreSQL (%s): say which is the database with %s.database or STEVEDORE_DB_SERVICE",
			strings.Join(byImage, ", "), ExtensionKey)
	case len(byEnv) == 1:
		return byEnv[0], "the only service setting POSTGRES_* server variables", nil
	case len(byEnv) > 1:
		return "", "", fmt.Errorf("several services set POSTGRES_* variables (%s): say which is the database with %s.database or STEVEDORE_DB_SERVICE",
			strings.Join(byEnv, ", "), ExtensionKey)
	}
	return "", "", fmt.Errorf("no service runs a postgres image or sets POSTGRES_PASSWORD: say which is the database with %s.database or STEVEDORE_DB_SERVICE", ExtensionKey)
}
