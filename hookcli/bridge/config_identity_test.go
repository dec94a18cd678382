package bridge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/config"
	"github.com/claudebench/cb/protocol"
	"go.yaml.in/yaml/v3"
)

func parseYAMLForTest(data []byte) (map[string]any, error) {
	var m map[string]any
	err := yaml.Unmarshal(data, &m)
	return m, err
}

// everyKeyYAML sets every key to a value other than its default.
func everyKeyYAML(t *testing.T) string {
	root := map[string]any{}
	for _, k := range protocol.ConfigKeys() {
		var v any
		switch d := k.Default.(type) {
		case string:
			v = "v-" + strings.ReplaceAll(k.Name, ".", "-")
			if strings.HasSuffix(k.Name, "fail_mode") {
				v = "closed"
			}
		case int:
			v = d + 7
		case bool:
			v = !d
		case time.Duration:
			v = (d + 90*time.Second).String()
		case []string:
			v = []string{"a", "b c"}
		case []any:
			v = []any{map[string]any{"id": "no-prod", "tool": "Bash", "match": "psql", "action": "deny"}}
		default:
			t.Fatalf("%s: default %T", k.Name, d)
		}
		m := root
		parts := strings.Split(k.Name, ".")
		for _, p := range parts[:len(parts)-1] {
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = v
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestConfigLoadersAgree: cbd's loader (viper) and cb's (Settings, with the
// full YAML parser as cb-cli reads and with the lean one as cb hook does)
// fill identical structs from the same file and environment. The lean
// reader skips lists and the like (cb hook reads none): those keys are
// compared only where it read them.
func TestConfigLoadersAgree(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		env  map[string]string
	}{
		{name: "no file"},
		{name: "empty file", yaml: "# nothing\n"},
		{name: "every key", yaml: everyKeyYAML(t)},
		{name: "durations", yaml: "hook:\n  timeout: 1500ms\ntasks:\n  lease: 1h30m\n  reclaim_after: \"45s\"\ndispatch:\n  block: 250ms\n"},
		{name: "ints and bools", yaml: "dispatch:\n  concurrency: 8\nhttp:\n  enabled: false\n  max_body_bytes: 0\nhook:\n  audit: false\n  prompt_tasks_context: true\n"},
		{name: "lists", yaml: "instance:\n  roles: [hooks, tasks]\nhttp:\n  allowed_hosts:\n  - a.example\n  - b.example\n  cors_origins: []\nhook:\n  disabled_rules:\n    - deny-rm-root\n"},
		{name: "rules", yaml: "hook:\n  rules:\n    - id: no-prod\n      tool: Bash\n      match: 'psql .*prod'\n      action: deny\n  fail_mode: closed\n"},
		{name: "rules as a mapping", yaml: "hook:\n  rules:\n    rules:\n      - id: x\n        action: deny\n"},
		{name: "nested maps", yaml: "handlers:\n  timeout: 3s\n  task_create:\n    rate_limit: 5\n    timeout: 1s\n  hook_pre_tool:\n    circuit_failures: 2\nhook:\n  pre_tool:\n    fail_mode: closed\n  stop:\n    fail_mode: closed\n"},
		{name: "nulls", yaml: "hook:\n  fail_mode:\n  timeout: ~\n  pre_tool:\nredis:\n  url: null\n"},
		{name: "quoted", yaml: "redis:\n  url: \"redis://:secret@127.0.0.1:6379/2\"  # comment\n  mode: 'managed'\n"},
		{name: "env over file", yaml: "hook:\n  timeout: 1s\n  fail_mode: open\nhttp:\n  allowed_hosts: [x.example]\n", env: map[string]string{
			"CB_HOOK_TIMEOUT": "5s", "CB_HOOK_FAIL_MODE": "closed", "CB_HOOK_STOP_FAIL_MODE": "closed",
			"CB_DISPATCH_CONCURRENCY": "7", "CB_HTTP_ENABLED": "false", "CB_HTTP_ALLOWED_HOSTS": "a.example b.example",
			"CB_REDIS_URL": "unix:///tmp/r.sock", "CB_TASKS_LEASE": "2m",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, v := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "XDG_STATE_HOME"} {
				t.Setenv(v, filepath.Join(dir, v))
			}
			for _, k := range protocol.ConfigKeys() {
				if _, ok := os.LookupEnv(protocol.EnvName(k.Name)); ok {
					t.Setenv(protocol.EnvName(k.Name), "")
					os.Unsetenv(protocol.EnvName(k.Name))
				}
			}
			path := filepath.Join(dir, "config.yaml")
			if c.yaml != "" {
				if err := os.WriteFile(path, []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("CB_CONFIG", path)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cbd, err := config.Load(nil)
			if c.yaml == "" && err != nil {
				// An explicit CB_CONFIG that does not exist is an error
				// to cbd; compare with its defaults.
				os.Unsetenv("CB_CONFIG")
				cbd, err = config.Load(nil)
			}
			if err != nil {
				t.Fatalf("cbd: %v", err)
			}
			full, err := LoadSettings(parseYAMLForTest)
			if err != nil || full.Check() != nil {
				t.Fatalf("cb-cli: %v %v", err, full.Check())
			}
			if diff := diffConfig(&cbd.Config, full.Config(), nil); diff != "" {
				t.Errorf("viper and Settings (yaml) differ:\n%s", diff)
			}
			lean, err := LoadSettings(readConfigLean)
			if errors.Is(err, errNeedsYAML) {
				t.Logf("lean reader hands this file to the full parser")
				return
			}
			if err != nil || lean.Check() != nil {
				t.Fatalf("cb hook: %v %v", err, lean.Check())
			}
			if diff := diffConfig(&cbd.Config, lean.Config(), lean.skipped); diff != "" {
				t.Errorf("viper and Settings (lean) differ:\n%s", diff)
			}
			// Lists and booleans are all the lean reader skips (cb
			// hook reads neither).
			for _, k := range protocol.ConfigKeys() {
				switch k.Default.(type) {
				case bool, []string, []any:
				default:
					if lean.skipped(k.Name) {
						t.Errorf("the lean reader skipped %s", k.Name)
					}
				}
			}
		})
	}
}

// diffConfig lists the keys whose values differ, but those skip says the
// reader of b did not read.
func diffConfig(a, b *protocol.Config, skip func(key string) bool) string {
	var out []string
	for _, k := range protocol.ConfigKeys() {
		if skip != nil && skip(k.Name) {
			continue
		}
		va := reflect.ValueOf(k.Field(a)).Elem().Interface()
		vb := reflect.ValueOf(k.Field(b)).Elem().Interface()
		if !reflect.DeepEqual(va, vb) {
			out = append(out, fmt.Sprintf("  %s: %#v vs %#v", k.Name, va, vb))
		}
	}
	return strings.Join(out, "\n")
}

// skipped says whether the lean reader left key's value (or what holds it)
// unread.
func (s *Settings) skipped(key string) bool {
	if probeLean(s.file, []string{key}) != nil {
		return true
	}
	var cur any = s.file
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		cur = m[part]
	}
	return hasOpaque(cur)
}

// TestConfigBadValues: a malformed value is an error naming the key, to
// cbd at load (durations) and to cb when it reads the key.
func TestConfigBadValues(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("hook:\n  timeout: soon\n  max_input_bytes: lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CB_CONFIG", path)
	if _, err := config.Load(nil); err == nil || err.Error() != `config hook.timeout: "soon" is not a duration like 10s` {
		t.Errorf("cbd: %v", err)
	}
	s, err := LoadSettings(readConfigLean)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check("hook.timeout", "hook.max_input_bytes"); err == nil || err.Error() != `config hook.timeout: "soon" is not a duration like 2s` {
		t.Errorf("cb: %v", err)
	}
	if err := s.Check("hook.max_input_bytes"); err == nil || err.Error() != `config hook.max_input_bytes: "lots" is not an integer` {
		t.Errorf("cb: %v", err)
	}
	if err := s.Check("redis.url"); err != nil {
		t.Errorf("cb, a key that is fine: %v", err)
	}
	if s.Config().Hook.Timeout != 2*time.Second {
		t.Errorf("a malformed value is not at its default: %v", s.Config().Hook.Timeout)
	}
}

// BenchmarkLoadSettingsLean is cb hook's start: the config file read
// leanly and every key decoded.
func BenchmarkLoadSettingsLean(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("redis:\n  url: unix:///tmp/r.sock\nhook:\n  timeout: 2s\n  fail_mode: closed\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv("CB_CONFIG", path)
	for b.Loop() {
		if _, err := LoadSettings(readConfigForHook); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConfigLoadersDiffer pins where the two readers part today, so that a
// change to either is a decision: cbd (viper, through spf13/cast) reads an
// integer duration as nanoseconds and a malformed integer as 0, while cb
// rejects both (cb hook then answers its fail mode).
func TestConfigLoadersDiffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("hook:\n  timeout: 30\n  max_input_bytes: lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CB_CONFIG", path)
	cbd, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cbd.Hook.Timeout != 30*time.Nanosecond || cbd.Hook.MaxInputBytes != 0 {
		t.Errorf("cbd: timeout %v, max_input_bytes %d", cbd.Hook.Timeout, cbd.Hook.MaxInputBytes)
	}
	s, err := LoadSettings(readConfigForHook)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check("hook.timeout"); err == nil || err.Error() != `config hook.timeout: "30" is not a duration like 2s` {
		t.Errorf("cb: %v", err)
	}
	if err := s.Check("hook.max_input_bytes"); err == nil {
		t.Error("cb read max_input_bytes: lots")
	}
}
