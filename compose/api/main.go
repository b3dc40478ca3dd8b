// Command api is the bundled stack's example service: a small REST API over
// PostgreSQL (pgx) that migrates its schema at start, reports its health,
// documents itself, and holds real data worth backing up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "GET /health on the local server and exit 0 when it is ok (for the container's HEALTHCHECK: the image has no curl)")
	direction := flag.String("migrate", "", "up: apply the migrations the database lacks; down: revert the last one; then exit")
	seedOnly := flag.Bool("seed", false, "add the demo items the database lacks, then exit")
	flag.Parse()
	addr := envOr("API_ADDR", ":8000")
	if *healthcheck {
		os.Exit(probe("http://127.0.0.1" + addr + "/health"))
	}
	if *direction != "" || *seedOnly {
		err := withPool(func(ctx context.Context, pool *pgxpool.Pool) error { return command(ctx, pool, *direction, *seedOnly) })
		if err != nil {
			fmt.Fprintln(os.Stderr, "api:", err)
			os.Exit(1)
		}
		return
	}
	level := slog.LevelInfo
	if os.Getenv("LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	if err := withPool(func(ctx context.Context, pool *pgxpool.Pool) error { return run(ctx, pool, log, addr) }); err != nil {
		log.Error("api stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, addr string) error {
	// The database may still be starting (a restart, a restore): retry the
	// migrations until it answers or we are stopped.
	var version int
	var err error
	for attempt := 1; ; attempt++ {
		if version, err = migrate(ctx, pool); err == nil {
			break
		}
		log.Warn("migrations not applied yet", "attempt", attempt, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	log.Info("schema migrated", "version", version)

	if debugAddr := os.Getenv("DEBUG_ADDR"); debugAddr != "" {
		debug := newHTTPServer(debugAddr, debugRoutes(), debugTimeouts)
		go func() {
			log.Info("debug server (pprof) listening", "addr", debugAddr)
			if err := debug.ListenAndServe(); err != nil {
				log.Error("debug server", "error", err)
			}
		}()
	}
	srv := newHTTPServer(addr, newServer(pool, log).routes(), apiTimeouts)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown) // lets requests in flight finish
	}()
	log.Info("api listening", "addr", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-drained
	return nil
}

// timeouts bound how long a client may hold a connection: a slow or
// stalled client is cut off instead of tying up the server.
type timeouts struct{ header, read, write, idle time.Duration }

var (
	apiTimeouts = timeouts{header: 5 * time.Second, read: 15 * time.Second, write: 30 * time.Second, idle: 2 * time.Minute}
	// A CPU profile takes 30 s by default: writes get longer.
	debugTimeouts = timeouts{header: 5 * time.Second, read: 15 * time.Second, write: 2 * time.Minute, idle: 2 * time.Minute}
)

func newHTTPServer(addr string, h http.Handler, t timeouts) *http.Server {
	return &http.Server{Addr: addr, Handler: h,
		ReadHeaderTimeout: t.header, ReadTimeout: t.read, WriteTimeout: t.write, IdleTimeout: t.idle}
}

// debugRoutes serve pprof on the debug address only. The public server has
// its own mux, and http.DefaultServeMux (where net/http/pprof registers
// itself) is served nowhere.
func debugRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// probe is the container healthcheck: 0 when url answers 200.
func probe(url string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}

// newPool connects to DATABASE_URL. A connection idle for a moment is
// pinged before use: one a snapshot, rollback or restore ended then costs
// a reconnect, not a failed request.
func newPool(ctx context.Context) (*pgxpool.Pool, error) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool { return p.IdleDuration > 50*time.Millisecond }
	return pgxpool.NewWithConfig(ctx, cfg)
}

// withPool runs fn with a context that SIGINT or SIGTERM cancels and a
// pool on DATABASE_URL.
func withPool(fn func(context.Context, *pgxpool.Pool) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	pool, err := newPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(ctx, pool)
}

// command runs -migrate or -seed once, for db:migrate and db:seed.
func command(ctx context.Context, pool *pgxpool.Pool, direction string, seedOnly bool) error {
	var migrateFn func(context.Context, *pgxpool.Pool) (int, error)
	switch direction {
	case "":
	case "up":
		migrateFn = migrate
	case "down":
		migrateFn = migrateDown
	default:
		return fmt.Errorf("-migrate=%s: say up or down", direction)
	}
	if migrateFn != nil {
		version, err := migrateFn(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Printf("schema at version %d\n", version)
	}
	if seedOnly {
		n, err := seed(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Printf("seeded %d items\n", n)
	}
	return nil
}
