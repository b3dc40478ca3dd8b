package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stevedore-dev/stevedore/compose/api/schema"
)

// migrate applies the migrations the database lacks.
func migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	return locked(ctx, pool, func(conn *pgxpool.Conn, ms []schema.Migration, current int) (int, error) {
		return up(ctx, conn, ms, current)
	})
}

// migrateDown reverts the last migration applied, in one transaction.
func migrateDown(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	return locked(ctx, pool, func(conn *pgxpool.Conn, ms []schema.Migration, current int) (int, error) {
		for _, m := range ms {
			if m.Version != current {
				continue
			}
			if m.Down == "" {
				return current, fmt.Errorf("migration %s has no down migration: nothing reverted", m.Name)
			}
			tx, err := conn.Begin(ctx)
			if err != nil {
				return current, err
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			if _, err := tx.Exec(ctx, m.Down); err != nil {
				return current, fmt.Errorf("revert migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, m.Version); err != nil {
				return current, err
			}
			if err := tx.Commit(ctx); err != nil {
				return current, err
			}
			return current - 1, nil
		}
		return current, fmt.Errorf("the database is at version %d, which no migration of this api has: nothing reverted", current)
	})
}

// locked runs fn on one connection under the migrations' advisory lock, so
// that two api instances starting together do not race, with the
// migrations and the version the database is at.
func locked(ctx context.Context, pool *pgxpool.Pool, fn func(*pgxpool.Conn, []schema.Migration, int) (int, error)) (int, error) {
	ms, err := schema.Migrations()
	if err != nil {
		return 0, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	const lockKey = 7_362_014 // any constant shared by every api instance
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return 0, fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	current := 0
	if err := conn.QueryRow(ctx, schema.VersionQuery).Scan(&current); err != nil {
		return 0, err
	}
	return fn(conn, ms, current)
}

// up applies the migrations after current, each in its own transaction
// with its version recorded.
func up(ctx context.Context, conn *pgxpool.Conn, ms []schema.Migration, current int) (int, error) {
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return current, err
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			tx.Rollback(ctx)
			return current, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			tx.Rollback(ctx)
			return current, err
		}
		if err := tx.Commit(ctx); err != nil {
			return current, err
		}
		current = m.Version
	}
	return current, nil
}

// seed adds the demo items a fresh database is given, those it lacks.
func seed(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	tag, err := pool.Exec(ctx, `INSERT INTO items (name, quantity, note)
  SELECT v.name, v.quantity, v.note FROM (VALUES ('crate', 12, 'seed'), ('pallet', 3, 'seed'), ('barrel', 7, 'seed')) v(name, quantity, note)
  WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.name = v.name)`)
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	return tag.RowsAffected(), nil
}
