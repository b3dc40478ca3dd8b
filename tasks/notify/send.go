package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	firstDelay = 500 * time.Millisecond
	maxDelay   = 5 * time.Second // also caps Retry-After: a scheduled run must not hang on a webhook
	reasonMax  = 1 << 10         // bytes of a failing response read for the reason
	reasonLen  = 200             // bytes of it kept in the error
)

// client does not follow redirects: Go would turn the POST into a GET and
// drop the body, and a 200 from that GET would pass for a delivery.
var client = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Error is a webhook that was not delivered. It never holds the URL's path,
// query or user info, where the tokens are.
type Error struct {
	Host     string // the endpoint as Redact shows it: scheme://host/…
	Status   int    // the last HTTP status, 0 when there was no answer
	Attempts int    // requests made
	Reason   string // from the last failing response's body, one line, shortened
	Err      error  // why it stopped without a status to show (network, timeout, ctx)
}

// Error is one line, such as
// "webhook https://hooks.slack.com/…: 404 Not Found after 1 attempt (no_service)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("webhook " + e.Host + ": ")
	if e.Status != 0 {
		b.WriteString(strconv.Itoa(e.Status))
		if text := http.StatusText(e.Status); text != "" {
			b.WriteString(" " + text)
		}
		b.WriteString(" ")
	}
	b.WriteString("after " + strconv.Itoa(e.Attempts) + " attempt")
	if e.Attempts != 1 {
		b.WriteString("s")
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Send posts ev to h, whether or not h.Wants it: that is the caller's
// choice. It retries network errors, 429 and 5xx with backoff (0.5s, 1s,
// 2s … capped at 5s, or the server's Retry-After seconds, capped likewise)
// up to h.Attempts requests in total, and stops at once when ctx is done.
// Any other status is final: a wrong URL will not heal. It returns the
// number of requests made; a failure is an *Error.
func Send(ctx context.Context, h Hook, ev Event) (attempts int, err error) {
	if h.URL == "" {
		return 0, errors.New("no webhook URL")
	}
	where := Redact(h.URL)
	u, err := url.Parse(h.URL)
	if err != nil {
		return 0, fmt.Errorf("webhook URL %s is not valid: %w", where, unwrapURL(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, fmt.Errorf("webhook URL %s is not valid: want http(s)://host/…", where)
	}
	body, err := Body(h.Format, ev)
	if err != nil {
		return 0, err
	}
	tries, timeout := h.Attempts, h.Timeout
	if tries <= 0 {
		tries = defaultAttempts
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}

	fail := &Error{Host: where}
	for {
		fail.Attempts++
		status, retryAfter, reason, err := post(ctx, h.URL, body, timeout)
		if err == nil && status/100 == 2 {
			return fail.Attempts, nil
		}
		fail.Status, fail.Reason, fail.Err = status, scrub(reason, u), err
		if ctx.Err() != nil {
			fail.Err = ctx.Err()
			return fail.Attempts, fail
		}
		retryable := err != nil || status == http.StatusTooManyRequests || status >= 500
		if !retryable || fail.Attempts >= tries {
			return fail.Attempts, fail
		}
		if err := wait(ctx, delay(fail.Attempts, retryAfter)); err != nil {
			fail.Err = err
			return fail.Attempts, fail
		}
	}
}

// post makes one attempt. A non-2xx status comes back with a nil error and
// the start of the response body as the reason.
func post(ctx context.Context, rawURL string, body []byte, timeout time.Duration) (status int, retryAfter, reason string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", fmt.Errorf("building request: %w", unwrapURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stevedore")
	resp, err := client.Do(req)
	if err != nil {
		err = unwrapURL(err)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		return 0, "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, "", "", nil
	}
	// Best effort: a body that fails half way still says something.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, reasonMax))
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" {
		reason = string(head) // an error page's markup is no reason
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), reason, nil
}

// unwrapURL drops the *url.Error wrapper of url.Parse and net/http, whose
// message quotes the whole URL, token included; its cause does not.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// scrub makes a response body one short line without the URL's secrets:
// some servers echo the path ("Cannot POST /services/T…/B…/token").
func scrub(reason string, u *url.URL) string {
	reason = strings.Join(strings.Fields(reason), " ")
	secrets := []string{u.Path, u.EscapedPath(), u.RawQuery, u.User.String()}
	secrets = append(secrets, strings.Split(u.Path, "/")...)
	for _, v := range u.Query() {
		secrets = append(secrets, v...)
	}
	// Longest first, so a whole path goes before its segments; short
	// pieces ("services", "api") are kept, they are no secret and would
	// eat ordinary words.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		if len(s) >= 8 {
			reason = strings.ReplaceAll(reason, s, "…")
		}
	}
	if len(reason) > reasonLen {
		reason = reason[:reasonLen] + "…"
	}
	return strings.ToValidUTF8(reason, "") // also mends a rune cut short above
}

// delay is the wait after the n-th failed attempt: the server's
// Retry-After in seconds if it gave one, otherwise doubling from 0.5s;
// either way at most maxDelay.
func delay(n int, retryAfter string) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && secs >= 0 {
		if secs >= int(maxDelay/time.Second) {
			return maxDelay
		}
		return time.Duration(secs) * time.Second
	}
	d := firstDelay
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// wait is a backoff that ends early, with ctx's error, when ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
