package pgtarget_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stevedore-dev/stevedore/tasks/internal/pgtest"
	"github.com/stevedore-dev/stevedore/tasks/pgtarget"
)

// A volume whose role has another password (a second checkout, a new
// settings file): the login fails as the application's would, and
// SetPassword mends it so that the settings' password logs in again.
func TestWrongPasswordIsFoundAndMended(t *testing.T) {
	p := pgtest.Start(t)
	eng := pgtest.RequireDocker(t)
	db, err := pgtarget.OpenContainer(t.Context(), eng, p.Container.GetContainerID())
	require.NoError(t, err)
	require.NoError(t, db.TCPLogin(t.Context()))

	_, err = p.Connect(t).Exec(t.Context(), `ALTER ROLE `+p.User+` PASSWORD 'made-by-another-checkout'`)
	require.NoError(t, err)
	assert.ErrorIs(t, db.TCPLogin(t.Context()), pgtarget.ErrWrongPassword)
	_, err = pgx.Connect(t.Context(), p.DSN)
	require.Error(t, err, "the application's login fails too")

	require.NoError(t, db.SetPassword(t.Context()))
	assert.NoError(t, db.TCPLogin(t.Context()))
	conn, err := pgx.Connect(t.Context(), p.DSN)
	require.NoError(t, err, "the settings' password logs in again")
	conn.Close(t.Context())
}

// The verifier is PostgreSQL's format, salted anew each time.
func TestScramVerifierFormat(t *testing.T) {
	v := pgtarget.ScramVerifier("pw", []byte("0123456789abcdef"))
	assert.Regexp(t, `^SCRAM-SHA-256\$4096:MDEyMzQ1Njc4OWFiY2RlZg==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$`, v)
	assert.NotEqual(t, v, pgtarget.ScramVerifier("pw", []byte("fedcba9876543210")))
	assert.NotContains(t, v, "pw")
}
