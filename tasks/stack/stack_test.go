package stack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJudge(t *testing.T) {
	observed := []Service{
		{Name: "db", State: "running", Health: "healthy"},
		{Name: "api", State: "running", Health: "healthy", Probe: "http://x/health"},
		{Name: "migrate", State: "exited", ExitCode: 0},
		{Name: "worker", State: "exited", ExitCode: 2},
		{Name: "cache", State: "running"}, // no healthcheck, no probe
		{Name: "web", State: "running", Health: "starting"},
		{Name: "queue", State: "running", Health: "unhealthy"},
		{Name: "flaky", State: "restarting", RestartCount: 5},
		{Name: "booting", State: "restarting", RestartCount: 1},
		{Name: "probed", State: "running", Probe: "http://y/health"},
	}
	probes := map[string]error{"api": nil, "probed": assert.AnError}
	names := []string{"db", "api", "migrate", "worker", "cache", "web", "queue", "flaky", "booting", "probed", "missing"}
	got := map[string]string{}
	for _, r := range Judge(names, observed, probes) {
		switch {
		case r.Ready:
			got[r.Service] = "ready"
		case r.Failed:
			got[r.Service] = "failed: " + r.Why
		default:
			got[r.Service] = "pending: " + r.Why
		}
	}
	assert.Equal(t, map[string]string{
		"db":      "ready",
		"api":     "ready",
		"migrate": "ready",
		"worker":  "failed: exited with code 2",
		"cache":   "ready",
		"web":     "pending: health check starting",
		"queue":   "failed: unhealthy",
		"flaky":   "failed: restarting again and again (5 restarts)",
		"booting": "pending: restarting",
		"probed":  "pending: probe: " + assert.AnError.Error(),
		"missing": "pending: no container yet",
	}, got)
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"status":"ok"}`))
		case "/plain":
			w.Write([]byte(`hello`))
		case "/degraded":
			w.Write([]byte(`{"status":"degraded"}`))
		case "/openapi.json":
			w.Write([]byte(`{"openapi":"3.1.0"}`))
		case "/broken.json":
			w.Write([]byte(`{"openapi":`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	assert.NoError(t, Probe(ctx, srv.URL+"/ok"))
	assert.NoError(t, Probe(ctx, srv.URL+"/plain"))
	assert.ErrorContains(t, Probe(ctx, srv.URL+"/degraded"), `status "degraded"`)
	assert.ErrorContains(t, Probe(ctx, srv.URL+"/down"), "503")
	assert.NoError(t, Probe(ctx, srv.URL+"/openapi.json"))
	assert.ErrorContains(t, Probe(ctx, srv.URL+"/broken.json"), "not valid JSON")
	assert.Error(t, Probe(ctx, "http://127.0.0.1:1/health"))
}

func TestListeningInodes(t *testing.T) {
	procNetTCP := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 777 1 0000000000000000 100 0 0 10 0
   2: 0100007F:9C40 0100007F:1F40 01 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 20 4 30 10 -1
`
	assert.Equal(t, map[int]string{8000: "4242", 5432: "777"}, ListeningInodes(strings.NewReader(procNetTCP)))
}

func TestBuildStatus(t *testing.T) {
	services := []Service{
		{Name: "api", State: "running", Health: "healthy", Probe: "http://x/health"},
		{Name: "db", State: "exited", ExitCode: 1},
	}
	st := BuildStatus("shop", services, map[string]error{"api": nil})
	assert.Equal(t, StatusVersion, st.Version)
	assert.False(t, st.Up, "db exited")
	require.Len(t, st.Services, 2)
	assert.True(t, st.Services[0].Ready)
	require.NotNil(t, st.Services[0].ProbeOK)
	assert.True(t, *st.Services[0].ProbeOK)
	assert.Nil(t, st.Services[1].ProbeOK)
	assert.NotNil(t, st.Services[1].Ports, "empty list, not null")

	assert.False(t, BuildStatus("shop", nil, nil).Up, "no services is not up")
}
