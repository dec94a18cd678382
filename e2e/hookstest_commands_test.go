package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

// TestHooksTestCommands: cb hooks test shows the normalized simple commands
// the rules were matched against, in text and in --json.
func TestHooksTestCommands(t *testing.T) {
	h, _ := startWithRules(t)
	cmd := `f(){ rm -rf "$1"; }; f /`
	out := testenv.RunCB(t, bin, h, nil, nil, "hooks", "test", "--command", cmd)
	if out.Code != 0 || !strings.Contains(out.Stdout, "decision: deny") ||
		!strings.Contains(out.Stdout, "commands:\n  \"rm -rf $1\"\n  \"f /\"\n  \"rm -rf /\"\n") {
		t.Fatalf("hooks test: %d\n%s%s", out.Code, out.Stdout, out.Stderr)
	}
	out = testenv.RunCB(t, bin, h, nil, nil, "hooks", "test", "--command", cmd, "--json")
	var res struct {
		Result   struct{ Decision string }
		Commands []string
	}
	if err := json.Unmarshal([]byte(out.Stdout), &res); err != nil || out.Code != 0 {
		t.Fatalf("--json: %d %v\n%s%s", out.Code, err, out.Stdout, out.Stderr)
	}
	if res.Result.Decision != "deny" || !slices.Equal(res.Commands, []string{"rm -rf $1", "f /", "rm -rf /"}) {
		t.Errorf("--json: %+v", res)
	}
}
