package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

// cb links no daemon code, no database drivers and no viper: it starts on
// every hook event and must stay small and fast.
func TestCBDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("go list in -short mode")
	}
	cmd := exec.Command("go", "list", "-deps", "./cmd/cb")
	cmd.Dir = testenv.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/cb: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list printed %d packages: %s", len(deps), out)
	}
	forbidden := []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/spf13/viper", "github.com/claudebench/cb/daemon"}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("cb depends on %s", d)
			}
		}
	}
}
