package iostreams

import (
	"bytes"
	"os"
	"testing"
)

func TestPalette(t *testing.T) {
	if got := (ColorScheme{}).Status("failed"); got != "failed" {
		t.Errorf("plain palette colored: %q", got)
	}
	on := ColorScheme{on: true}
	// Equal-length escapes keep colored table columns aligned.
	n := len(on.Header("x")) - 1
	for _, s := range []string{"pending", "in_progress", "completed", "failed", "other"} {
		if got := len(on.Status(s)) - len(s); got != n {
			t.Errorf("status %s adds %d bytes, header adds %d", s, got, n)
		}
	}
	for _, s := range []string{"healthy", "degraded", "unhealthy", "error: x", "?"} {
		if got := len(on.Health(s)) - len(s); got != n {
			t.Errorf("health %s adds %d bytes, header adds %d", s, got, n)
		}
	}
	// Not a terminal: no colors, no width, whatever NO_COLOR says.
	var buf bytes.Buffer
	if ios := System(nil, &buf, nil); ios.ColorEnabled() || ios.TerminalWidth() != 0 || ios.IsStdoutTTY() {
		t.Error("a buffer is treated as a terminal")
	}
	t.Setenv("NO_COLOR", "")
	if System(nil, os.Stdout, nil).ColorEnabled() {
		t.Error("NO_COLOR set (even empty) must turn colors off")
	}
}
