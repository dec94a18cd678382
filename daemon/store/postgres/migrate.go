package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

// migrationLockKey is the first key of the advisory lock taken while
// migrating; the second is a hash of the target schema, so that migrations
// of unrelated schemas do not wait for each other.
const migrationLockKey int32 = 0x63620001 // "cb" 0001

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in version order, in one transaction that first takes
// a transaction-scoped advisory lock, so daemons starting at once serialize
// here and each migration is applied exactly once.
func (s *Store) migrate(ctx context.Context) error {
	migs, err := model.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var schema *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("current schema: %w", err)
		}
		if schema == nil {
			return fmt.Errorf("no schema in search_path exists")
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`,
			migrationLockKey, *schema); err != nil {
			return fmt.Errorf("lock schema %s: %w", *schema, err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint      NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied := make(map[int64]bool, len(versions))
		for _, v := range versions {
			applied[v] = true
		}
		for _, m := range migs {
			if applied[m.Version] {
				continue
			}
			// No arguments: pgx uses the simple protocol, which allows
			// several statements in one migration file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx,
				`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
				m.Version, m.Name); err != nil {
				return fmt.Errorf("record %s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
