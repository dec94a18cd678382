package clitest

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// go test ./hookcli/cli/... -run Golden -update rewrites testdata/golden/*.txt.
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// GoldenNow is the fixed "now" of every golden rendering.
var GoldenNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Golden checks got against testdata/golden/name (or rewrites it).
func Golden(t *testing.T, name string, got []byte) {
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
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// GoldenRender checks what render writes against testdata/golden/name (or
// rewrites it) and returns it.
func GoldenRender(t *testing.T, name string, render func(w io.Writer) error) string {
	t.Helper()
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		t.Fatal(err)
	}
	Golden(t, name, buf.Bytes())
	return buf.String()
}

// LoadFixture decodes testdata/name into v (unknown fields are an error)
// and returns the file.
func LoadFixture(t *testing.T, name string, v any) []byte {
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
