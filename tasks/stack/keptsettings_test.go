package stack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What env:up keeps and what env:rollback then puts back, step by step.
func TestKeptSettingsFollowTheHealthyUps(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, ".env")
	k := keptSettings{dir: filepath.Join(dir, "state", "settings")}
	write := func(text string) { require.NoError(t, os.WriteFile(env, []byte(text), 0o600)) }
	read := func(path string) string {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(data)
	}

	write("A")
	c, err := k.chooseSettings(env, false)
	require.NoError(t, err)
	assert.Empty(t, c.from, "no healthy env:up yet: nothing to put back")
	assert.Contains(t, c.why, "no healthy env:up")

	require.NoError(t, k.recordUp(env)) // healthy up with A
	c, err = k.chooseSettings(env, false)
	require.NoError(t, err)
	assert.Empty(t, c.from, "unchanged since the last healthy up")
	c, err = k.chooseSettings(env, true)
	require.NoError(t, err)
	assert.Empty(t, c.from, "no earlier one")

	write("B") // a change that never came up healthy
	c, err = k.chooseSettings(env, false)
	require.NoError(t, err)
	require.Equal(t, k.lastUp(), c.from)
	require.NoError(t, k.putBack(env, c))
	assert.Equal(t, "A", read(env))
	assert.Equal(t, "B", read(k.replaced()), "the replaced file is kept")

	write("C")
	require.NoError(t, k.recordUp(env)) // healthy up with C: A becomes the previous
	assert.Equal(t, "C", read(k.lastUp()))
	assert.Equal(t, "A", read(k.previous()))
	require.NoError(t, k.recordUp(env)) // the same again changes nothing
	assert.Equal(t, "A", read(k.previous()))
	c, err = k.chooseSettings(env, true)
	require.NoError(t, err)
	require.Equal(t, k.previous(), c.from)
	require.NoError(t, k.putBack(env, c))
	assert.Equal(t, "A", read(env))

	for _, p := range []string{k.lastUp(), k.previous(), k.replaced(), env} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s holds passwords", p)
	}
	st, err := os.Stat(k.dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())

	c, err = k.chooseSettings("", false)
	require.NoError(t, err)
	assert.Empty(t, c.from, "a project without a settings file")
}

// A stopped env:rollback says where it stopped and what finishes the job.
func TestRollbackStepErrorNamesTheNextCommand(t *testing.T) {
	before := &RollbackStepError{Step: 1, Of: 4, What: rollbackSteps[0], Err: assert.AnError}
	assert.Equal(t, "go tool mage env:rollback", before.Next())
	assert.Contains(t, before.Error(), "step 1/4 (stop the services that write)")
	assert.Contains(t, before.Error(), "the database was not rolled back")
	after := &RollbackStepError{Step: 4, Of: 4, What: rollbackSteps[3], Err: assert.AnError, DatabaseDone: true}
	assert.Equal(t, "go tool mage env:up", after.Next(), "running env:rollback again would roll back further")
	assert.Contains(t, after.Error(), "the database was rolled back")
	own := &RollbackStepError{Step: 3, Of: 4, Err: &PartlyUpError{}}
	assert.Equal(t, "go tool mage env:status", own.Next(), "the failure's own next command first")
}
