package protocol

import "testing"

// TestFailModeInheritance: hook.fail_mode reaches only the hooks that gate
// an action; a per-type setting always wins.
func TestFailModeInheritance(t *testing.T) {
	cases := []struct {
		hookType string
		cfg      func(c *Config)
		want     string
	}{
		{"pre_tool", func(c *Config) {}, "open"},
		{"pre_tool", func(c *Config) { c.Hook.FailMode = "closed" }, "closed"},
		{"user_prompt", func(c *Config) { c.Hook.FailMode = "closed" }, "closed"},
		{"stop", func(c *Config) { c.Hook.FailMode = "closed" }, "open"},
		{"subagent_stop", func(c *Config) { c.Hook.FailMode = "closed" }, "open"},
		{"post_tool", func(c *Config) { c.Hook.FailMode = "closed" }, "open"},
		{"stop", func(c *Config) { c.Hook.Stop.FailMode = "closed" }, "closed"},
		{"pre_tool", func(c *Config) { c.Hook.FailMode = "closed"; c.Hook.PreTool.FailMode = "open" }, "open"},
		{"pre_tool", func(c *Config) { c.Hook.FailMode = "shut" }, "open"},
	}
	for i, tc := range cases {
		c := DefaultConfig()
		tc.cfg(&c)
		if got := c.FailMode(tc.hookType); got != tc.want {
			t.Errorf("case %d: FailMode(%s) = %s, want %s", i, tc.hookType, got, tc.want)
		}
	}
}

// TestFailModePerType: every hook type's own key reaches its fail mode,
// found by key name, so the Type switch and the struct stay in step.
func TestFailModePerType(t *testing.T) {
	for _, he := range HookEvents {
		c := DefaultConfig()
		set := false
		for _, k := range ConfigKeys() {
			if k.Name == "hook."+he.Type+".fail_mode" {
				*k.Field(&c).(*string) = "closed"
				set = true
			}
		}
		if !set {
			t.Errorf("no key hook.%s.fail_mode", he.Type)
			continue
		}
		if got := c.FailMode(he.Type); got != "closed" {
			t.Errorf("hook.%s.fail_mode=closed: FailMode = %s", he.Type, got)
		}
	}
}
