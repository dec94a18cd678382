package apitoken

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestHookCredential(t *testing.T) {
	a, b := HookCredential("token-a"), HookCredential("token-b")
	if a == b || a != HookCredential("token-a") || !strings.HasPrefix(a, "cbh_") || len(a) != 4+64 {
		t.Fatalf("HookCredential: %q %q", a, b)
	}
	if strings.Contains(a, "token-a") || HookCredential("") != "" {
		t.Fatalf("HookCredential leaks or accepts an empty token: %q", a)
	}
}

func TestFile(t *testing.T) {
	if got := File("", "/cfg"); got != filepath.Join("/cfg", "token") {
		t.Errorf("default token file %q", got)
	}
	if got := File("/x/tok", "/cfg"); got != "/x/tok" {
		t.Errorf("configured token file %q", got)
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf", "claudebench")
	path := filepath.Join(dir, "http.token")
	tok, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Fatalf("token %q", tok)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
	again, err := LoadOrCreate(path)
	if err != nil || again != tok {
		t.Fatalf("second load: %q %v", again, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("leftover files: %v", entries)
	}

	// Concurrent first starts agree on one token.
	path2 := filepath.Join(t.TempDir(), "race", "token")
	toks := make([]string, 8)
	var wg sync.WaitGroup
	for i := range toks {
		wg.Go(func() {
			var err error
			if toks[i], err = LoadOrCreate(path2); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, tk := range toks {
		if tk != toks[0] {
			t.Fatalf("concurrent creation gave different tokens: %v", toks)
		}
	}

	// Refused: readable by others, empty, not a file, no path.
	loose := filepath.Join(t.TempDir(), "loose")
	writeFile(t, loose, "abc\n", 0o644)
	if _, err := LoadOrCreate(loose); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable token file: %v", err)
	}
	writeFile(t, loose, "abc\n", 0o620)
	if _, err := LoadOrCreate(loose); err == nil {
		t.Error("group-writable token file accepted")
	}
	writeFile(t, loose, "  my-own-token \n", 0o600)
	if tok, err := LoadOrCreate(loose); err != nil || tok != "my-own-token" {
		t.Errorf("own token: %q %v", tok, err)
	}
	writeFile(t, loose, "\n", 0o600)
	if _, err := LoadOrCreate(loose); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty token file: %v", err)
	}
	if _, err := LoadOrCreate(t.TempDir()); err == nil {
		t.Error("a directory accepted as token file")
	}
	if _, err := LoadOrCreate(""); err == nil {
		t.Error("empty path accepted")
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
