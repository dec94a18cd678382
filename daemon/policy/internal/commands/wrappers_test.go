package commands

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeListsWrappers: the README's wrapper list names exactly the
// commands of the wrapper table.
func TestReadmeListsWrappers(t *testing.T) {
	b, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start, end := strings.Index(text, "<!-- BEGIN wrappers -->"), strings.Index(text, "<!-- END wrappers -->")
	if start < 0 || end < start {
		t.Fatal("README has no wrappers block")
	}
	var listed []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(text[start:end], -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	if want := slices.Sorted(maps.Keys(wrappers)); !slices.Equal(listed, want) {
		t.Errorf("README wrappers = %q\nwant %q", listed, want)
	}
}

// TestEveryWrapperIsStripped: rm -rf / behind each wrapper of the table
// (with the operands or code option the wrapper needs) is what runs.
func TestEveryWrapperIsStripped(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(wrappers)) {
		w := wrappers[name]
		argv := []string{name}
		if w.sub != "" {
			argv = append(argv, w.sub)
		}
		switch {
		case w.codeOnly && w.code != "":
			argv = append(argv, "-"+w.code[:1], "rm -rf /")
		case w.codeOnly:
			argv = append(argv, "--"+w.codeLong[0], "rm -rf /")
		default:
			for range w.operands {
				argv = append(argv, "x")
			}
			argv = append(argv, "rm", "-rf", "/")
		}
		u := Unwrap(argv)
		if got := strings.Join(u.Argv, " "); u.HasCode && u.Code != "rm -rf /" || !u.HasCode && got != "rm -rf /" {
			t.Errorf("%q: runs %q (code %q)", argv, got, u.Code)
		}
		if w.doc == "" && (w.operands > 0 || w.sub != "" || w.codeOnly || w.joined || w.stdinArgs) {
			t.Errorf("%s: the README needs its syntax (doc)", name)
		}
	}
}
