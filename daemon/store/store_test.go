package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/store"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	fallback := filepath.Join(dir, "fallback", "cb.db")
	cases := []struct {
		url, wantPath string
	}{
		{"", fallback},
		{"sqlite://" + filepath.Join(dir, "a", "cb.db"), filepath.Join(dir, "a", "cb.db")},
		{"file://" + filepath.Join(dir, "b", "cb.db"), filepath.Join(dir, "b", "cb.db")},
		{"file:" + filepath.Join(dir, "c", "cb.db"), filepath.Join(dir, "c", "cb.db")},
	}
	for _, c := range cases {
		s, err := store.Open(t.Context(), c.url, fallback)
		if err != nil {
			t.Fatalf("Open(%q): %v", c.url, err)
		}
		if s.Kind() != store.KindSQLite {
			t.Errorf("Open(%q).Kind() = %q, want %q", c.url, s.Kind(), store.KindSQLite)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Open(%q).Ping: %v", c.url, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Open(%q).Close: %v", c.url, err)
		}
		fi, err := os.Stat(filepath.Dir(c.wantPath))
		if err != nil {
			t.Fatalf("Open(%q): parent directory: %v", c.url, err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("Open(%q): parent directory mode = %v, want 0700", c.url, fi.Mode().Perm())
		}
		if _, err := os.Stat(c.wantPath); err != nil {
			t.Errorf("Open(%q): database file: %v", c.url, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, c := range []struct {
		url, sqlitePath, wantInErr string
	}{
		{"mysql://root:hunter2@db/cb", "x.db", "unsupported url"},
		{"redis://127.0.0.1:6379", "x.db", "unsupported url"},
		{"", "", "no SQLite path"},
		{"sqlite://", "x.db", "no SQLite path"},
		// Port 1 refuses connections at once: the error must come from the
		// PostgreSQL backend, proving the dispatch.
		{"postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", "x.db", "postgres store"},
		{"postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2", "x.db", "postgres store"},
	} {
		s, err := store.Open(ctx, c.url, c.sqlitePath)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q, %q) succeeded, want an error", c.url, c.sqlitePath)
			continue
		}
		if !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("Open(%q, %q) error = %q, want it to mention %q", c.url, c.sqlitePath, err, c.wantInErr)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error leaks the password: %q", c.url, err)
		}
	}
}
