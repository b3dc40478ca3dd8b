package tcenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/stevedore-dev/stevedore/tasks/engine"
)

// Compose's labels that tell a stack's resources.
const (
	labelProject    = "com.docker.compose.project"
	labelWorkingDir = "com.docker.compose.project.working_dir"
)

// SessionEnv names the variable holding a run's session folder: every test's
// temporary files (TMPDIR) are beneath it, so a Compose stack a test started
// is known by its working folder.
const SessionEnv = "STEVEDORE_TEST_SESSION_DIR"

// Session makes this process a test session when it is not one already:
// an id for testcontainers' label and a folder for temporary files. It
// returns both.
func Session() (id, dir string) {
	id = os.Getenv("TESTCONTAINERS_SESSION_ID")
	if id == "" {
		id = fmt.Sprintf("stevedore-%d", time.Now().UnixNano())
		os.Setenv("TESTCONTAINERS_SESSION_ID", id)
	}
	dir = os.Getenv(SessionEnv)
	if dir == "" {
		// Short: tests make Unix sockets beneath it (108 bytes at most).
		made, err := os.MkdirTemp("", "stvtest-")
		if err != nil {
			return id, ""
		}
		dir = made
		os.Setenv(SessionEnv, dir)
	}
	os.Setenv("TMPDIR", dir)
	return id, dir
}

// Swept counts what Sweep removed.
type Swept struct{ Containers, Networks, Volumes int }

func (s Swept) String() string {
	return fmt.Sprintf("%d containers, %d networks, %d volumes", s.Containers, s.Networks, s.Volumes)
}

// Sweep removes, through the Engine API, what a test session left on the
// engine: containers with its testcontainers label, and Compose stacks
// whose working folder is in its session folder, with their networks and
// volumes. Nothing of a developer's own stacks matches either.
func Sweep(ctx context.Context, eng *engine.Engine, id, dir string) (Swept, error) {
	var s Swept
	projects := map[string]bool{}
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return s, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range list.Items {
		wd := c.Labels[labelWorkingDir]
		ours := c.Labels[SessionLabel] == id || (wd != "" && dir != "" && strings.HasPrefix(wd, dir))
		if !ours {
			continue
		}
		if p := c.Labels[labelProject]; p != "" && c.Labels[SessionLabel] != id {
			projects[p] = true
		}
		if _, err := eng.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
			s.Containers++
		}
	}
	for p := range projects {
		filter := make(client.Filters).Add("label", labelProject+"="+p)
		if nets, err := eng.NetworkList(ctx, client.NetworkListOptions{Filters: filter}); err == nil {
			for _, n := range nets.Items {
				if _, err := eng.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err == nil {
					s.Networks++
				}
			}
		}
		if vols, err := eng.VolumeList(ctx, client.VolumeListOptions{Filters: filter}); err == nil {
			for _, v := range vols.Items {
				if _, err := eng.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true}); err == nil {
					s.Volumes++
				}
			}
		}
	}
	return s, nil
}
