package protocol

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfigKeysComplete: every key has a doc and a default of its field's
// type, no key is declared twice, and the per-type fail modes match
// HookEvents one to one.
func TestConfigKeysComplete(t *testing.T) {
	seen := map[string]bool{}
	perType := 0
	c := DefaultConfig()
	for _, k := range ConfigKeys() {
		if seen[k.Name] {
			t.Errorf("%s declared twice", k.Name)
		}
		seen[k.Name] = true
		if strings.TrimSpace(k.Doc) == "" || strings.Contains(k.Doc, "<type>") {
			t.Errorf("%s: doc %q", k.Name, k.Doc)
		}
		if k.Default == nil {
			t.Errorf("%s: no default", k.Name)
		}
		got := reflect.ValueOf(k.Field(&c)).Elem().Interface()
		if !reflect.DeepEqual(got, k.Default) {
			t.Errorf("%s: DefaultConfig holds %#v, default is %#v", k.Name, got, k.Default)
		}
		if strings.HasSuffix(k.Name, ".fail_mode") && k.Name != "hook.fail_mode" {
			perType++
			if _, ok := LookupHookEvent(strings.TrimSuffix(strings.TrimPrefix(k.Name, "hook."), ".fail_mode")); !ok {
				t.Errorf("%s: no such hook type", k.Name)
			}
		}
	}
	if perType != len(HookEvents) {
		t.Errorf("%d per-type fail modes, %d hook types", perType, len(HookEvents))
	}
}

// TestConfigDefaults spot-checks defaults written as tags.
func TestConfigDefaults(t *testing.T) {
	c := DefaultConfig()
	if c.Dispatch.Concurrency != 128 || c.Events.MaxPayloadBytes != 64<<10 || c.Hook.MaxInputBytes != 16<<20 {
		t.Errorf("ints: %+v %+v", c.Dispatch, c.Events)
	}
	if c.Tasks.Lease != 30*time.Minute || c.Handlers.CircuitRecheck != 100*time.Millisecond || c.Hook.Timeout != 2*time.Second {
		t.Errorf("durations: %+v", c.Tasks)
	}
	if !c.HTTP.Enabled || c.Hook.PromptTasksContext || c.HTTP.Addr != "127.0.0.1:7711" || c.Redis.Mode != "auto" {
		t.Errorf("bools/strings: %+v %+v", c.HTTP, c.Redis)
	}
	if c.HTTP.AllowedHosts == nil || len(c.HTTP.AllowedHosts) != 0 || c.Hook.Rules == nil {
		t.Errorf("lists: %#v %#v", c.HTTP.AllowedHosts, c.Hook.Rules)
	}
}
