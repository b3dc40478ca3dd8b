package composecli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArgs(t *testing.T) {
	p := Project{Name: "shop", Files: []string{"a.yml", "b.yml"}, EnvFile: "x.env", Profiles: []string{"tools"}}
	v2 := Driver{Command: []string{"docker", "compose"}}
	v1 := Driver{Command: []string{"docker-compose"}}
	assert.Equal(t, []string{"docker", "compose", "-p", "shop", "-f", "a.yml", "-f", "b.yml", "--env-file", "x.env", "--profile", "tools", "up", "-d", "--remove-orphans"}, v2.UpArgs(p))
	assert.Equal(t, []string{"docker-compose", "-p", "shop", "-f", "a.yml", "-f", "b.yml", "--env-file", "x.env", "--profile", "tools", "down", "--remove-orphans", "--volumes"}, v1.DownArgs(p, true))
	assert.NotContains(t, v2.DownArgs(p, false), "--volumes")
	assert.True(t, v1.V1())
	assert.False(t, v2.V1())
	assert.Equal(t, [][]string{{"docker", "compose"}, {"docker-compose"}}, Candidates(""))
	assert.Equal(t, [][]string{{"docker-compose"}}, Candidates("v1"))
}

// `compose config` as v2 writes it (published ports as strings) and as v1
// writes it (numbers).
const v2Config = `name: shop
services:
  api:
    image: stevedore/api:local
    ports:
      - mode: ingress
        target: 8000
        published: "8000"
        protocol: tcp
      - target: 6060
        published: "6060"
        protocol: tcp
  db:
    image: postgres:15-bookworm
    ports:
      - target: 5432
        published: "5432"
        protocol: tcp
      - target: 53
        published: "5353"
        protocol: udp
  pgadmin:
    image: dpage/pgadmin4:8.12
    profiles: [tools]
    ports:
      - target: 80
        published: "5050"
`

const v1Config = `services:
  api:
    image: stevedore/api:local
    ports:
    - published: 8000
      target: 8000
  pgadmin:
    profiles:
    - tools
    ports:
    - published: 5050
      target: 80
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(v2Config))
	require.NoError(t, err)
	assert.Equal(t, []string{"tools"}, c.Profiles())
	assert.Equal(t, []string{"api", "db"}, c.Active(nil))
	assert.Equal(t, []string{"api", "db", "pgadmin"}, c.Active([]string{"tools"}))
	ports, err := c.Published(c.Active(nil))
	require.NoError(t, err)
	assert.Equal(t, []PublishedPort{{"db", 5432, 5432}, {"api", 6060, 6060}, {"api", 8000, 8000}}, ports, "tcp only, sorted")

	c1, err := ParseConfig([]byte(v1Config))
	require.NoError(t, err)
	ports, err = c1.Published(c1.Active([]string{"tools"}))
	require.NoError(t, err)
	assert.Equal(t, []PublishedPort{{"pgadmin", 5050, 80}, {"api", 8000, 8000}}, ports)

	_, err = ParseConfig([]byte("services: [broken"))
	assert.Error(t, err)
	bad, _ := ParseConfig([]byte("services:\n  x:\n    ports:\n      - published: \"8000-8010\"\n        target: 80\n"))
	_, err = bad.Published([]string{"x"})
	assert.Error(t, err, "a range is not a single port")
}
