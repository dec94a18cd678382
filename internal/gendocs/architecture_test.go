package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureHops keeps ARCHITECTURE.md's paths true: every
// `path/file.go: Name` it cites names a file that exists and declares Name
// (a function, method or type; for "Recv.Method" the method), and every
// other backticked path that looks like a repository path exists.
func TestArchitectureHops(t *testing.T) {
	const root = "../.."
	data, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	hop := regexp.MustCompile("`([a-z0-9_/.-]+\\.go): ([A-Za-z_][A-Za-z0-9_.]*)`")
	hops := hop.FindAllStringSubmatch(string(data), -1)
	if len(hops) < 20 {
		t.Fatalf("ARCHITECTURE.md cites %d file: function hops; the two request paths alone need more", len(hops))
	}
	for _, m := range hops {
		file, name := m[1], m[2]
		src, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Errorf("ARCHITECTURE.md cites %s, which does not exist", file)
			continue
		}
		if !declares(string(src), name) {
			t.Errorf("ARCHITECTURE.md cites %s: %s, which that file does not declare", file, name)
		}
	}
	path := regexp.MustCompile("`((?:cmd|daemon|hookcli|internal|protocol|schemas|scripts)/[a-z0-9_/.-]*)")
	for _, m := range path.FindAllStringSubmatch(string(data), -1) {
		p := strings.TrimSuffix(m[1], "/")
		if strings.ContainsAny(p, "<{*") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("ARCHITECTURE.md names %s, which does not exist", p)
		}
	}
}

// declares reports whether Go source src declares name: "F" as a function
// or type, "T.M" as method M of T.
func declares(src, name string) bool {
	q := regexp.QuoteMeta
	if recv, method, ok := strings.Cut(name, "."); ok {
		return regexp.MustCompile(`(?m)^func \(\w+ \*?` + q(recv) + `(\[[^]]*\])?\) ` + q(method) + `\b`).MatchString(src)
	}
	return regexp.MustCompile(`(?m)^(func (\(\w+ \*?\w+(\[[^]]*\])?\) )?` + q(name) + `\b|type ` + q(name) + `\b|\t` + q(name) + ` +(=|\w))`).MatchString(src)
}
