package protocol

import "testing"

// TestFailModeInheritance: hook.fail_mode reaches only the hooks that gate
// an action; a per-type setting always wins.
func TestFailModeInheritance(t *testing.T) {
	cases := []struct {
		hookType string
		cfg      map[string]string
		want     string
	}{
		{"pre_tool", nil, "open"},
		{"pre_tool", map[string]string{"hook.fail_mode": "closed"}, "closed"},
		{"user_prompt", map[string]string{"hook.fail_mode": "closed"}, "closed"},
		{"stop", map[string]string{"hook.fail_mode": "closed"}, "open"},
		{"subagent_stop", map[string]string{"hook.fail_mode": "closed"}, "open"},
		{"post_tool", map[string]string{"hook.fail_mode": "closed"}, "open"},
		{"stop", map[string]string{"hook.stop.fail_mode": "closed"}, "closed"},
		{"pre_tool", map[string]string{"hook.fail_mode": "closed", "hook.pre_tool.fail_mode": "open"}, "open"},
		{"pre_tool", map[string]string{"hook.fail_mode": "shut"}, "open"},
	}
	for _, c := range cases {
		if got := FailMode(c.hookType, func(k string) string { return c.cfg[k] }); got != c.want {
			t.Errorf("FailMode(%s, %v) = %s, want %s", c.hookType, c.cfg, got, c.want)
		}
	}
}
