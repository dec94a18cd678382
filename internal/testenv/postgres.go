package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer returns CB_TEST_POSTGRES_URL, the server the PostgreSQL
// tests run against. Without the variable the test fails in CI and skips
// elsewhere, saying why.
func PostgresServer(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CB_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CB_TEST_POSTGRES_URL not set: CI must run the PostgreSQL tests")
		}
		t.Skip("CB_TEST_POSTGRES_URL not set: this test needs a PostgreSQL server, e.g. CB_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return base
}

// PostgresSchema creates a fresh schema on PostgresServer, dropped at the
// end of the test, and returns a URL selecting it (its search_path
// parameter names the schema).
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresServer(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cbtest_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
		// Not the test's context: the drop runs after it is canceled.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse CB_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
