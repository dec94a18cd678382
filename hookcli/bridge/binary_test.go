package bridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCBLinksNothingHeavy fails when cb links a package the hook path must
// not pay for: every linked package runs its init on every hook call. The
// shell commands live in cb-cli (package hookcli/cli) for this reason, and
// cb reads its config file with readConfigLean instead of yaml.
func TestCBLinksNothingHeavy(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../cmd/cb").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "github.com/spf13/cobra"),
			strings.HasPrefix(dep, "github.com/redis/go-redis"),
			strings.HasPrefix(dep, "go.yaml.in/yaml"),
			dep == "crypto/tls",
			dep == "github.com/claudebench/cb/daemon" || strings.HasPrefix(dep, "github.com/claudebench/cb/daemon/"),
			dep == "github.com/claudebench/cb/hookcli/cli":
			t.Errorf("cb links %s", dep)
		}
	}
}

// TestHookBinaryKeepsDeadCodeElimination fails when something in cb makes
// reflect's method lookup reachable (text/template execution is the usual
// culprit): the linker then keeps every exported method of every type, the
// binary grows, and every hook call pays for it at start-up.
func TestHookBinaryKeepsDeadCodeElimination(t *testing.T) {
	cmd := exec.Command("go", "build", "-ldflags=-dumpdep", "-o", "/dev/null", "../../cmd/cb")
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

// TestHandOverWithoutCLI runs a built cb with no cb-cli beside it or on
// PATH: one line naming where it looked, exit 1.
func TestHandOverWithoutCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cb")
	}
	dir := t.TempDir()
	cb := filepath.Join(dir, "cb")
	build := exec.Command("go", "build", "-o", cb, "../../cmd/cb")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(cb, "--version")
	cmd.Env = []string{"PATH=" + t.TempDir(), "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, out)
	}
	want := "cb: cb-cli not found (looked in " + dir + " and PATH); `make build` builds cb, cb-cli and cbd side by side\n"
	if string(out) != want {
		t.Errorf("output %q, want %q", out, want)
	}
}
