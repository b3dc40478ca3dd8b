package composecli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestArgs(t *testing.T) {
	p := Project{Name: "shop", Dir: "/src/shop", Files: []string{"a.yml", "b.yml"}, EnvFile: "x.env", Profiles: []string{"tools"}}
	v2 := Driver{Command: []string{"docker", "compose"}}
	v1 := Driver{Command: []string{"docker-compose"}}
	assert.Equal(t, []string{"docker", "compose", "-p", "shop", "--project-directory", "/src/shop", "-f", "a.yml", "-f", "b.yml", "--env-file", "x.env", "--profile", "tools", "up", "-d", "--remove-orphans"}, v2.UpArgs(p, false))
	assert.Equal(t, "--build", v2.UpArgs(p, true)[len(v2.UpArgs(p, true))-1])
	assert.Equal(t, []string{"docker-compose", "-p", "shop", "--project-directory", "/src/shop", "-f", "a.yml", "-f", "b.yml", "--env-file", "x.env", "--profile", "tools", "down", "--remove-orphans", "--volumes"}, v1.DownArgs(p, true))
	assert.NotContains(t, v2.DownArgs(p, false), "--volumes")
	run := v2.RunArgs(Project{Name: "shop"}, "api", []string{"/api", "-migrate=up"})
	assert.Equal(t, []string{"docker", "compose", "-p", "shop", "run", "--rm", "--no-deps", "-T", "--entrypoint", "/api", "api", "-migrate=up"}, run,
		"the command is the whole command line, as for an exec")
	assert.True(t, v1.V1())
	assert.False(t, v2.V1())
	assert.Equal(t, [][]string{{"docker", "compose"}, {"docker-compose"}}, Candidates(""))
	assert.Equal(t, [][]string{{"docker-compose"}}, Candidates("v1"))
}
