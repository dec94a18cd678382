package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startProc(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

func waitTCP(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listening on %d", port)
}

// TestSentinelURLAndRulesFile: cbd and cb reach the primary through Redis
// Sentinel (redis://sentinel?master_name=...), and rules.yaml in the config
// dir is loaded at start.
func TestSentinelURLAndRulesFile(t *testing.T) {
	dir := t.TempDir()
	primary, sentinel := freeTCPPort(t), freeTCPPort(t)
	startProc(t, "redis-server", "--port", fmt.Sprint(primary), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	waitTCP(t, primary)
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 %d 1\n", sentinel, primary)), 0o600); err != nil {
		t.Fatal(err)
	}
	startProc(t, "redis-server", conf, "--sentinel")
	waitTCP(t, sentinel)

	url := fmt.Sprintf("redis://127.0.0.1:%d?master_name=mymaster", sentinel)
	h := testenv.NewHome(t, "CB_REDIS_URL="+url)
	h.WriteConfig(t, "") // creates the config dir
	rules := "- id: file-no-terraform-destroy\n  tool: Bash\n  field: command\n  match: '^terraform destroy'\n  action: deny\n  reason: Destroying infrastructure needs a human.\n"
	if err := os.WriteFile(filepath.Join(h.Dir, "config", "claudebench", "rules.yaml"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	testenv.StartDaemon(t, bin, h, []string{"CB_INSTANCE_ID=sentinel-cbd"})
	out := testenv.RunCB(t, bin, h, nil, bashPayload("cd infra && terraform destroy -auto-approve"), "hook", "pre_tool")
	if out.Code != 0 || !strings.Contains(out.Stdout, "Destroying infrastructure needs a human.") {
		t.Fatalf("through sentinel: exit %d stdout %q stderr %q", out.Code, out.Stdout, out.Stderr)
	}
	if out := testenv.RunCB(t, bin, h, nil, nil, "task", "create", "via sentinel"); out.Code != 0 {
		t.Fatalf("cb task create through sentinel: %s", out.Stderr)
	}
	// cb emit's streaming connection finds the primary through the
	// Sentinel too.
	out = testenv.RunCB(t, bin, h, nil, []byte("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"), "emit", "sentinel.check", "-")
	if out.Code != 0 {
		t.Fatalf("cb emit - through sentinel: exit %d %s", out.Code, out.Stderr)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", primary)})
	defer rdb.Close()
	if n := rdb.XLen(context.Background(), protocol.StreamKey("sentinel.check")).Val(); n != 3 {
		t.Fatalf("sentinel.check stream on the primary has %d entries, want 3", n)
	}
}
