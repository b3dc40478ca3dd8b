package tasks_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookServer is a local webhook receiver answering status to every post.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newHookServer(t *testing.T, status int) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) posts() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

func TestAScheduledBackupTellsTheWebhook(t *testing.T) {
	f := newDBFixture(t, 500)
	hook := newHookServer(t, http.StatusOK)
	env := append(f.env, "STEVEDORE_SCHEDULED=1", "STEVEDORE_WEBHOOK_URL="+hook.URL+"/services/T000/B000/secret-token", "STEVEDORE_WEBHOOK_FORMAT=json")

	// A failure is posted: the missing container, with the next command.
	r := runTarget(t, append(env, "STEVEDORE_DB_CONTAINER=no-such-container"), "db:backup")
	require.Equal(t, 1, r.Code, r.Out)
	posts := hook.posts()
	require.Len(t, posts, 1)
	var ev struct {
		Version int    `json:"version"`
		Target  string `json:"target"`
		OK      bool   `json:"ok"`
		Summary string `json:"summary"`
		Next    string `json:"next"`
	}
	require.NoError(t, json.Unmarshal(posts[0], &ev), string(posts[0]))
	assert.Equal(t, 1, ev.Version)
	assert.Equal(t, "db:backup", ev.Target)
	assert.False(t, ev.OK)
	assert.Contains(t, ev.Summary, "no-such-container")
	assert.NotEmpty(t, ev.Next)

	// A success is not posted unless asked for; asked for, in Slack's shape.
	require.Equal(t, 0, runTarget(t, env, "db:backup", "-name=quiet").Code)
	assert.Len(t, hook.posts(), 1)
	slack := append(env, "STEVEDORE_WEBHOOK_ON_SUCCESS=true", "STEVEDORE_WEBHOOK_FORMAT=slack")
	require.Equal(t, 0, runTarget(t, slack, "db:backup", "-name=told").Code)
	posts = hook.posts()
	require.Len(t, posts, 2)
	var msg struct{ Text string }
	require.NoError(t, json.Unmarshal(posts[1], &msg))
	assert.Contains(t, msg.Text, "backup told")

	// A webhook that keeps failing is retried a bounded number of times,
	// said, and does not fail the backup; its secret is never printed.
	broken := newHookServer(t, http.StatusBadGateway)
	r = runTarget(t, append(env, "STEVEDORE_WEBHOOK_URL="+broken.URL+"/hooks/secret-token", "STEVEDORE_WEBHOOK_ON_SUCCESS=true"), "db:backup", "-name=unheard")
	require.Equal(t, 0, r.Code, r.Out)
	assert.Len(t, broken.posts(), 3)
	assert.Contains(t, r.Out, "the notification was not delivered")
	assert.Contains(t, r.Out, "after 3 attempts")
	assert.NotContains(t, r.Out, "secret-token")
	assert.Len(t, f.list(t), 3, "the backups are there whatever the webhook said")
}
