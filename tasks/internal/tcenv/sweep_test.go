package tcenv_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/images"
	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/internal/tcenv"
)

// What a session left (a Compose stack whose working folder is in the
// session's folder, with its network and volume) is swept; a stack of the
// same shape elsewhere, a developer's own, is not.
func TestSweepTakesTheSessionsStacksAndNothingElse(t *testing.T) {
	eng := pgtest.RequireDocker(t)
	pgtest.RequireImage(t, eng, images.API.Ref)
	session := t.TempDir()
	stack := func(project, dir string) string {
		labels := map[string]string{"com.docker.compose.project": project}
		_, err := eng.NetworkCreate(t.Context(), project+"_default", client.NetworkCreateOptions{Labels: labels})
		require.NoError(t, err)
		_, err = eng.VolumeCreate(t.Context(), client.VolumeCreateOptions{Name: project + "_data", Labels: labels})
		require.NoError(t, err)
		created, err := eng.ContainerCreate(t.Context(), client.ContainerCreateOptions{Config: &container.Config{
			Image:  images.API.Ref,
			Labels: map[string]string{"com.docker.compose.project": project, "com.docker.compose.project.working_dir": dir},
		}})
		require.NoError(t, err)
		t.Cleanup(func() { // t.Context() is over by then
			ctx := context.Background()
			_, _ = eng.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true})
			_, _ = eng.NetworkRemove(ctx, project+"_default", client.NetworkRemoveOptions{})
			_, _ = eng.VolumeRemove(ctx, project+"_data", client.VolumeRemoveOptions{Force: true})
		})
		return created.ID
	}
	ours := stack("stvsweep1", filepath.Join(session, "TestX", "001", "compose"))
	theirs := stack("stvsweep2", filepath.Join(t.TempDir(), "compose"))

	swept, err := tcenv.Sweep(t.Context(), eng, "no-such-session", session)
	require.NoError(t, err)
	assert.Equal(t, tcenv.Swept{Containers: 1, Networks: 1, Volumes: 1}, swept)
	_, err = eng.ContainerInspect(t.Context(), ours, client.ContainerInspectOptions{})
	assert.Error(t, err, "the session's container is gone")
	_, err = eng.ContainerInspect(t.Context(), theirs, client.ContainerInspectOptions{})
	assert.NoError(t, err, "a stack outside the session stays")
	_, err = eng.VolumeInspect(t.Context(), "stvsweep2_data", client.VolumeInspectOptions{})
	assert.NoError(t, err)
}
