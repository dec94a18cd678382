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

// PostgresSchema creates a fresh schema on the server named by
// CB_TEST_POSTGRES_URL, dropped at the end of the test, and returns a URL
// selecting it. Without the variable the test fails in CI and skips
// elsewhere, saying why.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CB_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CB_TEST_POSTGRES_URL not set: CI must run the PostgreSQL tests")
		}
		t.Skip("CB_TEST_POSTGRES_URL not set: this test needs a PostgreSQL server, e.g. CB_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cbe2e_" + hex.EncodeToString(b[:])
	exec := func(sql string) error {
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
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { _ = exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
