package hookcli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHookBinaryKeepsDeadCodeElimination fails when something in cb makes
// reflect's method lookup reachable (text/template execution is the usual
// culprit): the linker then keeps every exported method of every type, the
// binary nearly doubles, and every hook call pays for it at start-up.
func TestHookBinaryKeepsDeadCodeElimination(t *testing.T) {
	cmd := exec.Command("go", "build", "-ldflags=-dumpdep", "-o", "/dev/null", "../cmd/cb")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "<ReflectMethod>") {
			t.Fatalf("cb reaches reflect method lookup: %s", line)
		}
	}
}
