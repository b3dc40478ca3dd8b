package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMigrationsAreNumberedInOrder(t *testing.T) {
	ms, err := Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		assert.Equal(t, i+1, m.Version, "versions are 1, 2, 3, ... without gaps: %s", m.Name)
		assert.NotEmpty(t, m.SQL)
		assert.NotEmpty(t, m.Down, "every migration can be reverted: %s", m.Name)
		assert.NotContains(t, m.Name, ".down")
	}
	assert.Equal(t, ms[len(ms)-1].Version, Latest())
}
