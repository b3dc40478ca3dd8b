package pgtarget

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/composecli"
	"github.com/stevedore-dev/stevedore/tasks/engine"
)

// FindService returns the name of the running container of a compose
// project's service.
func FindService(ctx context.Context, eng *engine.Engine, project, service string) (string, error) {
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{
		All: true,
		Filters: make(client.Filters).
			Add("label", composecli.LabelProject+"="+project).
			Add("label", composecli.LabelService+"="+service),
	})
	if err != nil {
		return "", fmt.Errorf("list containers of %s/%s: %w", project, service, err)
	}
	var stopped []string
	for _, c := range list.Items {
		if c.Labels[composecli.LabelOneOff] == "True" {
			continue
		}
		name := engine.ContainerName(c)
		if c.State == container.StateRunning {
			return name, nil
		}
		stopped = append(stopped, name)
	}
	if len(stopped) > 0 {
		return "", &UnavailableError{Msg: fmt.Sprintf("the %s service of compose project %s is not running (%s)", service, project, strings.Join(stopped, ", ")),
			NextCmd: "go tool mage env:up"}
	}
	return "", &UnavailableError{
		Msg:     fmt.Sprintf("no database container: compose project %s has no %s service running; pass -container=NAME or set STEVEDORE_DB_CONTAINER", project, service),
		NextCmd: "docker ps"}
}
