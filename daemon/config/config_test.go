package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudebench/cb/protocol"
)

// TestConfigHandlerOverride: per-method settings reach cbd from the file's
// nested maps and from their environment variables.
func TestConfigHandlerOverride(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("handlers:\n  timeout: 3s\n  task_create:\n    rate_limit: 0\n    timeout: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CB_CONFIG", path)
	t.Setenv(protocol.EnvName(protocol.HandlerKey("task.claim", "circuit_failures")), "9")
	cfg, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.HandlerOverride("task.create")
	if o.RateLimit == nil || *o.RateLimit != 0 || o.Timeout == nil || *o.Timeout != time.Second || o.CircuitFailures != nil {
		t.Errorf("task.create: %+v", o)
	}
	if o := cfg.HandlerOverride("task.claim"); o.CircuitFailures == nil || *o.CircuitFailures != 9 || o.RateLimit != nil {
		t.Errorf("task.claim: %+v", o)
	}
	if o := cfg.HandlerOverride("task.list"); o != (HandlerOverride{}) {
		t.Errorf("task.list: %+v", o)
	}
	if cfg.Handlers.Timeout != 3*time.Second {
		t.Errorf("handlers.timeout = %v", cfg.Handlers.Timeout)
	}
}
