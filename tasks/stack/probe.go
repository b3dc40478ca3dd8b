package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// probeClient bounds every probe: a probe that hangs is a probe that failed.
var probeClient = &http.Client{Timeout: 2 * time.Second}

// maxProbeBody bounds what a probe reads: enough for an API's description.
const maxProbeBody = 4 << 20

// Probe GETs url: ready on 200, and when the body is JSON with a "status"
// field, only if that field is "ok" (a healthy container can still answer
// 503, or 200 with a failing status). A URL ending in .json must answer
// valid JSON. Readiness (env:up, env:status) and the doctor both probe
// through here.
func Probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	if strings.HasSuffix(url, ".json") && !json.Valid(body) {
		return fmt.Errorf("%s is not valid JSON", url)
	}
	var health struct {
		Status *string `json:"status"`
	}
	if json.Unmarshal(body, &health) == nil && health.Status != nil && *health.Status != "ok" {
		return fmt.Errorf("%s says status %q", url, *health.Status)
	}
	return nil
}

// ProbeAll probes, concurrently, every running service that has a probe.
func ProbeAll(ctx context.Context, observed []Service) map[string]error {
	results := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range observed {
		if s.Probe == "" || s.State != "running" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := Probe(ctx, s.Probe)
			mu.Lock()
			results[s.Name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}
