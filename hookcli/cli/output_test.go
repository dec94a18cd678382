package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
)

// go test ./hookcli -run 'Golden' -update rewrites testdata/golden/*.txt.
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenNow is the fixed "now" of every golden rendering.
var goldenNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// goldenCompare checks got against testdata/golden/name (or rewrites it).
func goldenCompare(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./hookcli -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// loadFixture decodes testdata/name into v.
func loadFixture(t *testing.T, name string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return data
}

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"日本語のテキスト", 4, "日本語…"},
		{"abc", 1, "…"},
		{"abc", 0, "abc"},
	}
	for _, c := range cases {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := oneLine("a\tb\nc\x1b[31m"); got != "a b c [31m" {
		t.Errorf("oneLine = %q", got)
	}
}

func TestHumanAge(t *testing.T) {
	cases := map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 59 * time.Second: "59s", 90 * time.Second: "1m",
		59 * time.Minute: "59m", 3 * time.Hour: "3h", 49 * time.Hour: "2d",
	}
	for d, want := range cases {
		if got := humanAge(d); got != want {
			t.Errorf("humanAge(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestPalette(t *testing.T) {
	if got := (palette{}).status("failed"); got != "failed" {
		t.Errorf("plain palette colored: %q", got)
	}
	on := palette{on: true}
	// Equal-length escapes keep colored table columns aligned.
	n := len(on.header("x")) - 1
	for _, s := range []string{"pending", "in_progress", "completed", "failed", "other"} {
		if got := len(on.status(s)) - len(s); got != n {
			t.Errorf("status %s adds %d bytes, header adds %d", s, got, n)
		}
	}
	for _, s := range []string{"healthy", "degraded", "unhealthy", "error: x", "?"} {
		if got := len(on.health(s)) - len(s); got != n {
			t.Errorf("health %s adds %d bytes, header adds %d", s, got, n)
		}
	}
	// Not a terminal: no colors, no width, whatever NO_COLOR says.
	var buf bytes.Buffer
	if paletteFor(&buf).on || outputWidth(&buf) != 0 || isTerminal(&buf) {
		t.Error("a buffer is treated as a terminal")
	}
	t.Setenv("NO_COLOR", "")
	if paletteFor(os.Stdout).on {
		t.Error("NO_COLOR set (even empty) must turn colors off")
	}
}

// cb links no daemon code, no database drivers and no viper: it starts on
// every hook event and must stay small and fast.
func TestCBDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("go list in -short mode")
	}
	cmd := exec.Command("go", "list", "-deps", "./cmd/cb")
	cmd.Dir = testenv.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/cb: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list printed %d packages: %s", len(deps), out)
	}
	forbidden := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/spf13/viper", "github.com/claudebench/cb/daemon"}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("cb depends on %s", d)
			}
		}
	}
}
