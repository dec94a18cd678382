package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// projectFiles maps every file and directory under dir to its content.
func projectFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			m[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: files %v, want %v", what, keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is\n%s\nwant\n%s", what, k, got[k], v)
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestInitCLI runs the built cb init against a real cbd: without cbd it
// stops (a dry run goes on); with cbd it writes exactly cb install --scope
// project's hooks, the MCP server, the permissions of the tools cbd
// publishes that only read or are task tools, and the CLAUDE.local.md
// section; a second run changes nothing; --undo leaves the project as it
// was. The server's command is "cb" once PATH finds this cb.
func TestInitCLI(t *testing.T) {
	h := testenv.NewHome(t)
	project := filepath.Join(h.Dir, "project")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	cb := func(env []string, args ...string) testenv.Result {
		t.Helper()
		return testenv.RunCB(t, bin, h, env, nil, args...)
	}

	// No cbd yet.
	res := cb(nil, "init", "--dir", project)
	if res.Code != 1 || !strings.Contains(res.Stderr, "cbd does not answer") || !strings.Contains(res.Stderr, "cb service install") {
		t.Fatalf("cb init without cbd: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = cb(nil, "init", "--dry-run", "--dir", project)
	if res.Code != 0 || !strings.Contains(res.Stdout, "cbd does not answer") || !strings.Contains(res.Stdout, "+++ "+filepath.Join(project, ".mcp.json")) {
		t.Fatalf("cb init --dry-run without cbd: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	sameFiles(t, "without cbd", projectFiles(t, project), map[string]string{"./": ""})

	testenv.StartDaemon(t, bin, h, nil)
	res = cb(nil, "init", "--dir", project)
	if res.Code != 0 || !strings.Contains(res.Stdout, "Set up.") {
		t.Fatalf("cb init: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	written := projectFiles(t, project)

	// The hooks are cb install --scope project's, byte for byte.
	other := filepath.Join(h.Dir, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if res := cb(nil, "install", "--scope", "project", "--project-dir", other); res.Code != 0 {
		t.Fatalf("cb install: exit %d %s", res.Code, res.Stderr)
	}
	installed, err := os.ReadFile(filepath.Join(other, ".claude", "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if written[".claude/settings.json"] != string(installed) {
		t.Errorf("cb init's hooks differ from cb install --scope project's:\n%s\nwant\n%s", written[".claude/settings.json"], installed)
	}

	// The server runs this cb; the permissions follow cbd's registry.
	var mcp struct {
		MCPServers map[string]struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(written[".mcp.json"]), &mcp); err != nil {
		t.Fatal(err)
	}
	if s := mcp.MCPServers["claudebench"]; s.Command != bin.CB || !slices.Equal(s.Args, []string{"mcp"}) {
		t.Errorf(".mcp.json: %s", written[".mcp.json"])
	}
	res = cb(nil, "call", "system.discover")
	var disc struct {
		Methods []struct {
			Name string `json:"name"`
		} `json:"methods"`
	}
	if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &disc) != nil {
		t.Fatalf("cb call system.discover: exit %d %s%s", res.Code, res.Stdout, res.Stderr)
	}
	var want []string
	for _, m := range disc.Methods {
		if protocol.MCPExposed(m.Name) && (protocol.MCPReadOnly(m.Name) || strings.HasPrefix(m.Name, "task.")) {
			want = append(want, "mcp__claudebench__"+protocol.MCPToolName(m.Name))
		}
	}
	sort.Strings(want)
	var local struct {
		Permissions struct {
			Allow []string `json:"allow"`
		} `json:"permissions"`
		Enabled []string `json:"enabledMcpjsonServers"`
	}
	if err := json.Unmarshal([]byte(written[".claude/settings.local.json"]), &local); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(local.Permissions.Allow, want) || !slices.Equal(local.Enabled, []string{"claudebench"}) {
		t.Errorf("settings.local.json: %s\nwant allow %v", written[".claude/settings.local.json"], want)
	}
	md := written["CLAUDE.local.md"]
	for _, w := range []string{"<!-- claudebench:begin -->", "`task_claim`", "`cb task claim --worker", "<!-- claudebench:end -->"} {
		if !strings.Contains(md, w) {
			t.Errorf("CLAUDE.local.md lacks %q:\n%s", w, md)
		}
	}

	res = cb(nil, "init", "--dir", project)
	if res.Code != 0 || !strings.Contains(res.Stdout, "Already set up; nothing changed.") {
		t.Fatalf("second cb init: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	sameFiles(t, "after a second run", projectFiles(t, project), written)

	res = cb(nil, "init", "--undo", "--dir", project)
	if res.Code != 0 {
		t.Fatalf("cb init --undo: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	sameFiles(t, "after --undo", projectFiles(t, project), map[string]string{"./": ""})

	// With this cb first on PATH, the shared .mcp.json says "cb".
	path := "PATH=" + bin.Dir + string(os.PathListSeparator) + os.Getenv("PATH")
	res = cb([]string{path}, "init", "--dir", project, "--json")
	var rep struct {
		Changed bool `json:"changed"`
		Files   []struct {
			File    string `json:"file"`
			Created bool   `json:"created"`
		} `json:"files"`
	}
	if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &rep) != nil || !rep.Changed || len(rep.Files) != 4 {
		t.Fatalf("cb init --json: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	b, err := os.ReadFile(filepath.Join(project, ".mcp.json"))
	if err != nil || !strings.Contains(string(b), `"command": "cb"`) {
		t.Fatalf(".mcp.json with cb on PATH: %v %s", err, b)
	}
}
