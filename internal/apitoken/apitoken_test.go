package apitoken

import (
	"path/filepath"
	"strings"
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
