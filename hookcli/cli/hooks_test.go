package cli

import (
	"bytes"
	"testing"
)

func TestRenderCommands(t *testing.T) {
	var buf bytes.Buffer
	renderCommands(&buf, nil)
	if buf.Len() != 0 {
		t.Errorf("no commands printed %q", buf.String())
	}
	renderCommands(&buf, []string{"echo /", "rm -rf /", "a\tb"})
	want := "commands:\n  \"echo /\"\n  \"rm -rf /\"\n  \"a\\tb\"\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
