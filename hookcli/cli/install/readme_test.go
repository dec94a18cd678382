package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// TestReadmeInstallEvents keeps the README's table of the events cb install
// installs true: one row per protocol.HookEvents entry, in table order, with
// its type and whether it is in the default set, in all, or installed only
// by name (Replaces).
func TestReadmeInstallEvents(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "<!-- install-events:")
	if !ok {
		t.Fatal("README has no install-events table")
	}
	var rows [][]string
	for i, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			if i > 2 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if len(cells) != 4 || cells[0] == "Claude Code event" || strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows = append(rows, cells)
	}
	if len(rows) != len(protocol.HookEvents) {
		t.Fatalf("README lists %d events, protocol.HookEvents has %d", len(rows), len(protocol.HookEvents))
	}
	for i, he := range protocol.HookEvents {
		row := rows[i]
		want := "all"
		switch {
		case he.Default:
			want = "default"
		case he.Replaces:
			want = "by name"
		}
		if !strings.HasPrefix(row[0], he.ClaudeEvent) || row[1] != "`"+he.Type+"`" || row[2] != want || row[3] == "" {
			t.Errorf("README row %d %v, want %s `%s` %s with a reason", i+1, row, he.ClaudeEvent, he.Type, want)
		}
	}
}
