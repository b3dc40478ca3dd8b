package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests' webhook URLs carry these, as Slack's and Discord's do; no
// error may show them.
const (
	tokenPath  = "/services/T0SECRET1/B0SECRET2/xoxTOKENabcdef123"
	tokenQuery = "key=QUERYsecret42"
)

func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{"/services", "T0SECRET1", "B0SECRET2", "xoxTOKENabcdef123", "QUERYsecret42", "key="} {
		assert.NotContains(t, s, secret)
	}
}

var failed = Event{
	Target:   "db:backup",
	Project:  "shop",
	Host:     "host-1",
	Summary:  "pg_dump: connection refused",
	Next:     "go tool mage db:doctor",
	At:       time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC),
	Duration: 1.5,
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		err  bool
	}{
		{"", Slack, false},
		{"slack", Slack, false},
		{"json", JSON, false},
		{" JSON ", JSON, false},
		{"xml", "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if tc.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "slack")
				assert.Contains(t, err.Error(), "json")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestWants(t *testing.T) {
	for _, tc := range []struct {
		onSuccess, ok, want bool
	}{
		{false, false, true},
		{false, true, false},
		{true, false, true},
		{true, true, true},
	} {
		t.Run(fmt.Sprintf("onSuccess=%v ok=%v", tc.onSuccess, tc.ok), func(t *testing.T) {
			assert.Equal(t, tc.want, Hook{OnSuccess: tc.onSuccess}.Wants(Event{OK: tc.ok}))
		})
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://hooks.slack.com" + tokenPath, "https://hooks.slack.com/…"},
		{"http://127.0.0.1:8080" + tokenPath + "?" + tokenQuery, "http://127.0.0.1:8080/…"},
		{"https://user:pa55word@chat.example.com/hooks/x", "https://chat.example.com/…"},
		{"https://chat.example.com?" + tokenQuery, "https://chat.example.com/…"},
		{"hooks.slack.com" + tokenPath, "(invalid URL)"},
		{"https://hooks.slack.com/\x7f" + tokenPath, "(invalid URL)"},
		{"", "(invalid URL)"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, Redact(tc.in))
		})
	}
}

func TestHookNeverPrintsItsURL(t *testing.T) {
	h := Hook{URL: "https://hooks.slack.com" + tokenPath + "?" + tokenQuery, OnSuccess: true}
	assert.Equal(t, "https://hooks.slack.com/… (slack, failures and successes)", h.String())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoSecret(t, fmt.Sprintf(verb, h))
	}
}

func TestBodySlack(t *testing.T) {
	ok := failed
	ok.OK, ok.Summary = true, "backup backup_20261124_030000: 650 MB in 41s"
	bare := Event{Target: "db:verify", Summary: "dump <nil> & more"}
	for _, tc := range []struct {
		name string
		f    Format
		ev   Event
		want string
	}{
		{"failure", Slack, failed, "✗ shop db:backup failed on host-1: pg_dump: connection refused\nnext: `go tool mage db:doctor`"},
		{"default format", "", failed, "✗ shop db:backup failed on host-1: pg_dump: connection refused\nnext: `go tool mage db:doctor`"},
		{"success has no next", Slack, ok, "✓ shop db:backup succeeded on host-1: backup backup_20261124_030000: 650 MB in 41s"},
		{"missing fields, escaped", Slack, bare, "✗ db:verify failed: dump &lt;nil&gt; &amp; more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Body(tc.f, tc.ev)
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(b, &got))
			assert.Equal(t, map[string]any{"text": tc.want}, got)
		})
	}
}

func TestBodyJSON(t *testing.T) {
	ok := failed
	ok.OK, ok.Next, ok.Version = true, "", 7
	for _, tc := range []struct {
		name string
		ev   Event
	}{
		{"failure", failed},
		{"success", ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Body(JSON, tc.ev)
			require.NoError(t, err)

			var got Event
			require.NoError(t, json.Unmarshal(b, &got))
			want := tc.ev
			want.Version = 1
			assert.Equal(t, want, got)

			// The field names are the schema consumers rely on.
			var raw map[string]any
			require.NoError(t, json.Unmarshal(b, &raw))
			assert.Equal(t, 1.0, raw["version"])
			assert.Equal(t, "db:backup", raw["target"])
			assert.Equal(t, "shop", raw["project"])
			assert.Equal(t, "host-1", raw["host"])
			assert.Equal(t, tc.ev.OK, raw["ok"])
			assert.Equal(t, tc.ev.Summary, raw["summary"])
			assert.Equal(t, "2026-11-24T03:00:00Z", raw["at"])
			assert.Equal(t, 1.5, raw["duration_seconds"])
			next, hasNext := raw["next"]
			assert.Equal(t, tc.ev.Next != "", hasNext)
			if hasNext {
				assert.Equal(t, tc.ev.Next, next)
			}
		})
	}
}

func TestBodyUnknownFormat(t *testing.T) {
	_, err := Body("xml", failed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"xml"`)
}

func TestDelay(t *testing.T) {
	for _, tc := range []struct {
		n          int
		retryAfter string
		want       time.Duration
	}{
		{1, "", 500 * time.Millisecond},
		{2, "", time.Second},
		{3, "", 2 * time.Second},
		{4, "", 4 * time.Second},
		{5, "", 5 * time.Second},
		{1000, "", 5 * time.Second},
		{1, "2", 2 * time.Second},
		{3, "0", 0},
		{1, "3600", 5 * time.Second},
		{1, "99999999999999999999", 500 * time.Millisecond}, // not an int: ignored
		{1, "Wed, 21 Oct 2026 07:28:00 GMT", 500 * time.Millisecond},
		{1, "-1", 500 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%d %q", tc.n, tc.retryAfter), func(t *testing.T) {
			assert.Equal(t, tc.want, delay(tc.n, tc.retryAfter))
		})
	}
}

// server is a webhook endpoint on 127.0.0.1 answering with respond, which
// sees the 1-based request number; it counts the requests it got.
func server(t *testing.T, respond func(n int32, w http.ResponseWriter, r *http.Request)) (rawURL string, requests *atomic.Int32) {
	t.Helper()
	requests = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		respond(requests.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + tokenPath + "?" + tokenQuery, requests
}

func TestSendPostsTheBody(t *testing.T) {
	type received struct {
		method, path, query, contentType, userAgent string
		body                                        []byte
	}
	got := make(chan received, 1)
	url, requests := server(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		got <- received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), body}
		w.WriteHeader(http.StatusNoContent) // any 2xx is a delivery
	})
	for _, f := range []Format{Slack, JSON} {
		t.Run(string(f), func(t *testing.T) {
			attempts, err := Send(t.Context(), Hook{URL: url, Format: f}, failed)
			require.NoError(t, err)
			assert.Equal(t, 1, attempts)

			want, err := Body(f, failed)
			require.NoError(t, err)
			r := <-got
			assert.Equal(t, http.MethodPost, r.method)
			assert.Equal(t, tokenPath, r.path)
			assert.Equal(t, tokenQuery, r.query)
			assert.Equal(t, "application/json", r.contentType)
			assert.Equal(t, "stevedore", r.userAgent)
			assert.Equal(t, string(want), string(r.body))
		})
	}
	assert.EqualValues(t, 2, requests.Load())
}

func TestSendRetriesServerErrorsUntilDelivered(t *testing.T) {
	t.Parallel()
	url, requests := server(t, func(n int32, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			http.Error(w, "busy", http.StatusInternalServerError)
		}
	})
	start := time.Now()
	attempts, err := Send(t.Context(), Hook{URL: url}, failed)
	require.NoError(t, err)
	assert.Equal(t, 3, attempts)
	assert.EqualValues(t, 3, requests.Load())
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "backoff 0.5s then 1s")
}

func TestSendGivesUpAfterAttempts(t *testing.T) {
	t.Parallel()
	url, requests := server(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom\nat "+r.URL.String(), http.StatusInternalServerError)
	})
	attempts, err := Send(t.Context(), Hook{URL: url, Attempts: 3}, failed)
	require.Error(t, err)
	assert.Equal(t, 3, attempts)
	assert.EqualValues(t, 3, requests.Load())

	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusInternalServerError, e.Status)
	assert.Equal(t, 3, e.Attempts)
	// The server echoed the URL; its path and query are cut from the reason.
	assert.Equal(t, "webhook "+Redact(url)+": 500 Internal Server Error after 3 attempts (boom at …?…)", err.Error())
	assertNoSecret(t, err.Error())
}

func TestSendDoesNotRetryOtherClientErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		respond func(w http.ResponseWriter, r *http.Request)
		want    string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no_service", http.StatusNotFound)
		}, "404 Not Found after 1 attempt (no_service)"},
		{"400 echoing the token", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "invalid_token xoxTOKENabcdef123 for T0SECRET1", http.StatusBadRequest)
		}, "400 Bad Request after 1 attempt (invalid_token … for …)"},
		{"html error page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "<html><body><h1>Forbidden</h1></body></html>")
		}, "403 Forbidden after 1 attempt"},
		{"long reason cut on a rune", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "a"+strings.Repeat("é", 600), http.StatusConflict)
		}, "409 Conflict after 1 attempt (a" + strings.Repeat("é", 99) + "…)"},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere"+tokenPath, http.StatusFound)
		}, "302 Found after 1 attempt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, requests := server(t, func(_ int32, w http.ResponseWriter, r *http.Request) { tc.respond(w, r) })
			attempts, err := Send(t.Context(), Hook{URL: url, Attempts: 5}, failed)
			require.Error(t, err)
			assert.Equal(t, 1, attempts)
			assert.EqualValues(t, 1, requests.Load())
			assert.Equal(t, "webhook "+Redact(url)+": "+tc.want, err.Error())
			assertNoSecret(t, err.Error())
		})
	}
}

func TestSendHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	url, requests := server(t, func(n int32, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	start := time.Now()
	attempts, err := Send(t.Context(), Hook{URL: url}, failed)
	elapsed := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	assert.EqualValues(t, 2, requests.Load())
	assert.GreaterOrEqual(t, elapsed, time.Second, "Retry-After: 1, not the 0.5s backoff")
	assert.Less(t, elapsed, 3*time.Second)
}

func TestSendStopsWhenCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	answered := make(chan struct{})
	url, requests := server(t, func(n int32, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		if n == 1 {
			close(answered)
		}
	})
	go func() {
		<-answered
		// Let the client read the answer and start its 5s backoff.
		timer := time.NewTimer(200 * time.Millisecond)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-ctx.Done():
		}
	}()

	start := time.Now()
	attempts, err := Send(ctx, Hook{URL: url}, failed)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second, "not the 5s backoff")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, attempts)
	assert.EqualValues(t, 1, requests.Load())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status, "cancelled in the backoff, after the answer")
	assertNoSecret(t, err.Error())
}

func TestSendTimesOutEachAttempt(t *testing.T) {
	t.Parallel()
	url, requests := server(t, func(_ int32, _ http.ResponseWriter, r *http.Request) {
		// Never answers. Reading the body first lets the server notice the
		// client hanging up, which ends r's context.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	attempts, err := Send(t.Context(), Hook{URL: url, Attempts: 1, Timeout: 100 * time.Millisecond}, failed)
	require.Error(t, err)
	assert.Equal(t, 1, attempts)
	assert.EqualValues(t, 1, requests.Load())
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "after 1 attempt: no answer within 100ms")
	assertNoSecret(t, err.Error())
}

func TestSendToAClosedPort(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	url := "http://" + addr + tokenPath + "?" + tokenQuery

	attempts, err := Send(t.Context(), Hook{URL: url, Attempts: 2}, failed)
	require.Error(t, err)
	assert.Equal(t, 2, attempts)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Zero(t, e.Status)
	var opErr *net.OpError
	assert.ErrorAs(t, err, &opErr, "the network error stays in the chain")
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "webhook http://"+addr+"/…: after 2 attempts: "), msg)
	assert.NotContains(t, msg, "\n")
	assertNoSecret(t, msg)
}

func TestSendRejectsBadHooksWithoutPosting(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook Hook
		want string
	}{
		{"no URL", Hook{}, "no webhook URL"},
		{"no scheme", Hook{URL: "hooks.slack.com" + tokenPath}, "webhook URL (invalid URL) is not valid: want http(s)://host/…"},
		{"not http", Hook{URL: "ftp://hooks.example.com" + tokenPath}, "webhook URL ftp://hooks.example.com/… is not valid: want http(s)://host/…"},
		{"unparsable", Hook{URL: "https://hooks.slack.com" + tokenPath + "\x7f"}, "webhook URL (invalid URL) is not valid: net/url: invalid control character in URL"},
		{"bad format", Hook{URL: "https://hooks.slack.com" + tokenPath, Format: "xml"}, `unknown webhook format "xml": choose slack or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attempts, err := Send(t.Context(), tc.hook, failed)
			require.Error(t, err)
			assert.Zero(t, attempts)
			assert.Equal(t, tc.want, err.Error())
			assertNoSecret(t, err.Error())
		})
	}
}
