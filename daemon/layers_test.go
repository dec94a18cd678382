package daemon_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/claudebench/cb"

// pkg is one package of the module as go list sees it (tests excluded).
type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive
}

// under says path is dir (a path relative to the module) or inside it.
func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// TestLayers fails when a package imports across a line the layout draws:
// the lean cb and cb-cli never link cbd's code, the wire contract depends
// on nothing of either side, every transport reaches the handlers through
// the invoke chain rather than the Redis consumer, and handler packages do
// not use one another (what two share belongs in a package of its own).
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	internal := func(deps []string) []string {
		var own []string
		for _, d := range deps {
			if under(d, "") || d == module {
				own = append(own, d)
			}
		}
		return own
	}
	for _, p := range pkgs {
		path := p.ImportPath
		for _, dep := range p.Deps {
			switch {
			case (under(path, "hookcli") || under(path, "cmd/cb") || under(path, "cmd/cb-cli")) && under(dep, "daemon"):
				t.Errorf("%s depends on %s: cb and cb-cli never link cbd's code", path, dep)
			case under(path, "protocol") && (under(dep, "daemon") || under(dep, "hookcli")):
				t.Errorf("%s depends on %s: the wire contract depends on neither side", path, dep)
			case (under(path, "daemon/httpapi") || under(path, "daemon/mcpserver") || under(path, "daemon/handlers") || under(path, "daemon/invoke")) &&
				under(dep, "daemon/dispatch"):
				t.Errorf("%s depends on %s: transports and handlers reach each other through daemon/invoke, not the Redis consumer", path, dep)
			}
		}
		if path == module+"/protocol" {
			if own := internal(p.Imports); len(own) > 0 {
				t.Errorf("protocol imports %v: it imports nothing of the module", own)
			}
		}
		if under(path, "daemon/handlers") {
			group := strings.SplitN(strings.TrimPrefix(path, module+"/daemon/handlers/"), "/", 2)[0]
			for _, imp := range p.Imports {
				if under(imp, "daemon/handlers") && !under(imp, "daemon/handlers/"+group) {
					t.Errorf("%s imports %s: handler packages do not use one another", path, imp)
				}
			}
		}
	}
	// The rules above hold vacuously if the packages they name are gone.
	for _, want := range []string{"hookcli/bridge", "hookcli/cli", "protocol", "daemon/invoke", "daemon/dispatch", "daemon/httpapi", "daemon/mcpserver", "daemon/handlers/hooks"} {
		if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.ImportPath == module+"/"+want }) {
			t.Errorf("no package %s: update TestLayers", want)
		}
	}
}
