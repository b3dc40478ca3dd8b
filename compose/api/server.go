package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stevedore-dev/stevedore/compose/api/schema"
)

//go:embed openapi.json
var openAPI []byte

//go:embed docs.html
var docsPage []byte

// Item is the API's one resource.
type Item struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Quantity  int       `json:"quantity"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type server struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

func newServer(pool *pgxpool.Pool, log *slog.Logger) *server { return &server{pool: pool, log: log} }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(docsPage)
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	mux.HandleFunc("GET /api/v1/items", s.listItems)
	mux.HandleFunc("POST /api/v1/items", s.createItem)
	mux.HandleFunc("GET /api/v1/items/{id}", s.getItem)
	mux.HandleFunc("PUT /api/v1/items/{id}", s.updateItem)
	mux.HandleFunc("DELETE /api/v1/items/{id}", s.deleteItem)
	return s.logRequests(mux)
}

func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
	})
}

// health is ok only when the database answers and the schema is at the
// version this build expects.
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var version int
	err := s.pool.QueryRow(ctx, schema.VersionQuery).Scan(&version)
	switch {
	case err != nil:
		// The cause goes to the log only: a driver's error can name hosts,
		// users and settings.
		s.log.Warn("health: database not answering", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": "database not answering"})
	case version != schema.Latest():
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": "schema at version " + strconv.Itoa(version) + ", expected " + strconv.Itoa(schema.Latest())})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	}
}

const itemColumns = `id, name, quantity, note, created_at, updated_at`

func scanItem(row pgx.Row) (Item, error) {
	var it Item
	err := row.Scan(&it.ID, &it.Name, &it.Quantity, &it.Note, &it.CreatedAt, &it.UpdatedAt)
	return it, err
}

func (s *server) listItems(w http.ResponseWriter, r *http.Request) {
	rows, err := s.pool.Query(r.Context(), `SELECT `+itemColumns+` FROM items ORDER BY id LIMIT 1000`)
	if err != nil {
		s.fail(w, err)
		return
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Item, error) { return scanItem(row) })
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// itemInput is what a client sends to create or replace an item.
type itemInput struct {
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
	Note     string `json:"note"`
}

// Limits of what a client may send: the database would refuse more (a
// quantity beyond its integer, a NUL in text, a name too long for its
// index) with an error that is the client's fault, not the server's.
const (
	maxBody     = 1 << 20
	maxName     = 200
	maxNote     = 10000
	maxQuantity = math.MaxInt32
)

func readInput(r *http.Request) (itemInput, error) {
	var in itemInput
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("body is not an item: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return in, errors.New("body has data after the item")
	}
	switch {
	case in.Name == "":
		return in, errors.New("name is required")
	case utf8.RuneCountInString(in.Name) > maxName:
		return in, fmt.Errorf("name is longer than %d characters", maxName)
	case utf8.RuneCountInString(in.Note) > maxNote:
		return in, fmt.Errorf("note is longer than %d characters", maxNote)
	case strings.ContainsRune(in.Name, 0) || strings.ContainsRune(in.Note, 0):
		return in, errors.New("name and note must not contain NUL characters")
	case in.Quantity < 0:
		return in, errors.New("quantity must not be negative")
	case in.Quantity > maxQuantity:
		return in, fmt.Errorf("quantity must be at most %d", maxQuantity)
	}
	return in, nil
}

func (s *server) createItem(w http.ResponseWriter, r *http.Request) {
	in, err := readInput(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	it, err := scanItem(s.pool.QueryRow(r.Context(),
		`INSERT INTO items (name, quantity, note) VALUES ($1, $2, $3) RETURNING `+itemColumns, in.Name, in.Quantity, in.Note))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, it)
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "id must be a positive integer"})
		return 0, false
	}
	return id, true
}

func (s *server) getItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	s.respondItem(w, s.pool.QueryRow(r.Context(), `SELECT `+itemColumns+` FROM items WHERE id = $1`, id), http.StatusOK)
}

func (s *server) updateItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	in, err := readInput(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	s.respondItem(w, s.pool.QueryRow(r.Context(),
		`UPDATE items SET name = $2, quantity = $3, note = $4, updated_at = now() WHERE id = $1 RETURNING `+itemColumns,
		id, in.Name, in.Quantity, in.Note), http.StatusOK)
}

func (s *server) deleteItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	tag, err := s.pool.Exec(r.Context(), `DELETE FROM items WHERE id = $1`, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	if tag.RowsAffected() == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such item"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) respondItem(w http.ResponseWriter, row pgx.Row, status int) {
	it, err := scanItem(row)
	if errors.Is(err, pgx.ErrNoRows) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such item"})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, status, it)
}

func (s *server) fail(w http.ResponseWriter, err error) {
	s.log.Error("request failed", "error", err)
	writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "internal error"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
