// Package postgres is the PostgreSQL backend of the ClaudeBench store, built
// on pgx/v5 and pgxpool.
//
// Several daemons may share one database: every write is a single atomic
// statement, and migrations run at Open inside a transaction holding a
// pg_advisory_xact_lock, so daemons starting at the same time apply each
// migration exactly once. The schema is whichever one the connection's
// search_path selects, so a "search_path=<schema>" query parameter in the
// URL puts the tables (and schema_migrations) in that schema.
//
// Use it through store.Open; *Store implements store.Store.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Store is a store.Store backed by a PostgreSQL connection pool.
type Store struct {
	pool      *pgxpool.Pool
	closeOnce sync.Once
}

// Open connects to the PostgreSQL database at url (postgres:// or
// postgresql://; pgxpool options such as pool_max_conns and run-time
// parameters such as search_path are honoured) and applies any pending
// migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("postgres store: parse url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: connect %s: %w", target(cfg), err)
	}
	s := &Store{pool: pool}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: connect %s: %w", target(cfg), err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store: %s: %w", target(cfg), err)
	}
	return s, nil
}

// target describes the server and database of cfg without credentials.
func target(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Kind returns "postgres".
func (s *Store) Kind() string { return model.KindPostgres }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres store: ping: %w", err)
	}
	return nil
}

// Close closes every connection in the pool, waiting for connections in use
// to be released. It is safe to call more than once and always returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// notFound wraps model.ErrNotFound for a task id.
func notFound(id string) error {
	return fmt.Errorf("postgres store: task %q: %w", id, model.ErrNotFound)
}

// isNoRows reports whether err is pgx.ErrNoRows.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
