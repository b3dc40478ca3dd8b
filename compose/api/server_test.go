package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unreachablePool is a pool whose database never answers: a closed port on
// this machine. Requests refused before the database are the point here.
func unreachablePool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	pool, err := pgxpool.New(t.Context(), "postgres://app:secret-pw@"+addr+"/app?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func testServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(newServer(unreachablePool(t), slog.New(slog.DiscardHandler)).routes())
	t.Cleanup(srv.Close)
	return srv
}

func TestBadInputIsTheClientsFault(t *testing.T) {
	srv := testServer(t)
	long := strings.Repeat("x", maxName+1)
	tests := []struct{ name, body, want string }{
		{"quantity beyond the database's integer", `{"name":"a","quantity":2147483648}`, "quantity must be at most"},
		{"quantity beyond any integer", `{"name":"a","quantity":1e30}`, "body is not an item"},
		{"negative quantity", `{"name":"a","quantity":-1}`, "must not be negative"},
		{"NUL in the name", `{"name":"a\u0000b"}`, "NUL"},
		{"NUL in the note", `{"name":"a","note":"\u0000"}`, "NUL"},
		{"over-long name", `{"name":"` + long + `"}`, "longer than"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "data after the item"},
		{"trailing garbage", `{"name":"a"}x`, "data after the item"},
		{"unknown field", `{"name":"a","colour":"red"}`, "body is not an item"},
		{"no name", `{}`, "name is required"},
		{"not JSON", `name=a`, "body is not an item"},
	}
	for _, tt := range tests {
		for _, req := range []struct{ method, path string }{{"POST", "/api/v1/items"}, {"PUT", "/api/v1/items/1"}} {
			t.Run(tt.name+" "+req.method, func(t *testing.T) {
				r, err := http.NewRequestWithContext(t.Context(), req.method, srv.URL+req.path, strings.NewReader(tt.body))
				require.NoError(t, err)
				resp, err := http.DefaultClient.Do(r)
				require.NoError(t, err)
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
				assert.Contains(t, string(body), tt.want)
			})
		}
	}
	for _, path := range []string{"/api/v1/items/0", "/api/v1/items/-3", "/api/v1/items/99999999999999999999", "/api/v1/items/x"} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
	}
}

// /health says the database is down without repeating the driver's error,
// which names the host, the user and more.
func TestHealthDoesNotEchoTheDatabaseError(t *testing.T) {
	srv := testServer(t)
	resp, err := http.Get(srv.URL + "/health")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.JSONEq(t, `{"status":"unavailable","error":"database not answering"}`, string(body))
	for _, leak := range []string{"127.0.0.1", "app", "secret", "dial", "connect"} {
		assert.NotContains(t, string(body), leak)
	}
}

// pprof answers on the debug server and nowhere on the public one.
func TestPprofOnlyOnTheDebugServer(t *testing.T) {
	public := testServer(t)
	resp, err := http.Get(public.URL + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	debug := httptest.NewServer(debugRoutes())
	defer debug.Close()
	resp, err = http.Get(debug.URL + "/debug/pprof/cmdline")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// A client that sends its body slowly is cut off at the read timeout, and
// one that never finishes its headers at the header timeout: the servers
// are built with both, and production's are set.
func TestSlowClientsAreCutOff(t *testing.T) {
	for _, tm := range []timeouts{apiTimeouts, debugTimeouts} {
		assert.Positive(t, tm.header)
		assert.Positive(t, tm.read)
		assert.Positive(t, tm.write)
		assert.Positive(t, tm.idle)
	}
	short := timeouts{header: 300 * time.Millisecond, read: time.Second, write: time.Second, idle: time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := newHTTPServer(l.Addr().String(), newServer(unreachablePool(t), slog.New(slog.DiscardHandler)).routes(), short)
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	slowBody := func(conn net.Conn) {
		fmt.Fprintf(conn, "POST /api/v1/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		for range 20 { // a byte every 200 ms: 4 s in all, far beyond the read timeout
			time.Sleep(200 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}
	slowHeaders := func(conn net.Conn) { fmt.Fprintf(conn, "GET /health HTTP/1.1\r\nHost: x\r\n") }
	for name, client := range map[string]func(net.Conn){"slow body": slowBody, "unfinished headers": slowHeaders} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", l.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			start := time.Now()
			go client(conn)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, _ = io.Copy(io.Discard, bufio.NewReader(conn)) // until the server closes the connection
			took := time.Since(start)
			assert.Less(t, took, 3*time.Second, "the server cut the client off")
		})
	}
}
