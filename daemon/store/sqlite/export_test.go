package sqlite

import (
	"testing"

	"github.com/claudebench/cb/daemon/store/internal/model"
)

// QueryString runs a one-value query for white-box checks in tests.
func QueryString(t *testing.T, s *Store, query string) string {
	t.Helper()
	var v string
	if err := s.db.QueryRowContext(t.Context(), query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// MigrationCount is the number of embedded migrations.
func MigrationCount(t *testing.T) int {
	t.Helper()
	migs, err := model.LoadMigrations(migrationsFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(migs)
}
