package streams

import (
	"strings"
	"testing"

	"github.com/claudebench/cb/protocol"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{[]string{"*"}, "task.created", true},
		{[]string{"*"}, "x", true},
		{[]string{"task.*"}, "task.created", true},
		{[]string{"task.*"}, "task.a.b", true},
		{[]string{"task.*"}, "task", false},
		{[]string{"task.*"}, "tasks.created", false},
		{[]string{"task.*"}, "hook.task.x", false},
		{[]string{"task.created"}, "task.created", true},
		{[]string{"task.created"}, "task.created2", false},
		{[]string{"*.failed"}, "task.failed", true},
		{[]string{"*.failed"}, "task.failed.x", false},
		{[]string{"*.claimed"}, "task.claimed", true},
		{[]string{"hook.*_tool"}, "hook.pre_tool", true},
		{[]string{"hook.*_tool"}, "hook.user_prompt", false},
		{[]string{"a**b"}, "ab", true},
		{[]string{"a*b*c"}, "a-b-b-c", true},
		{[]string{"a*b*c"}, "a-c-b", false},
		{[]string{"hook.*", "task.created"}, "task.created", true},
		{[]string{"hook.*", "task.created"}, "task.claimed", false},
		{[]string{"a.b.*"}, "a.c", false},
		{[]string{"task.*"}, "", false},
		{nil, "x", false},
	}
	for _, c := range cases {
		if got := Match(c.patterns, c.typ); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.patterns, c.typ, got)
		}
	}
}

func TestValidPattern(t *testing.T) {
	for p, want := range map[string]bool{
		"*": true, "task.*": true, "task.created": true, "*.claimed": true, "ta*sk": true, "a.*.*": true,
		"": false, strings.Repeat("x", MaxPatternLen): true, strings.Repeat("x", MaxPatternLen+1): false,
	} {
		if ValidPattern(p) != want {
			t.Errorf("ValidPattern(%q) != %v", p, want)
		}
	}
}

func TestIDs(t *testing.T) {
	for _, c := range []struct{ id, next, prev string }{
		{"5-3", "5-4", "5-2"},
		{"5-0", "5-1", "4-18446744073709551615"},
		{"0-0", "0-1", "0-0"},
		{"7", "8-0", "6-18446744073709551615"},
		{"5-18446744073709551615", "6-0", "5-18446744073709551614"},
	} {
		if got := NextID(c.id); got != c.next {
			t.Errorf("NextID(%s) = %s, want %s", c.id, got, c.next)
		}
		if got := PrevID(c.id); got != c.prev {
			t.Errorf("PrevID(%s) = %s, want %s", c.id, got, c.prev)
		}
	}
	if got := IDBefore(1000); protocol.CompareStreamIDs(got, "999-99999") <= 0 || protocol.CompareStreamIDs(got, "1000-0") >= 0 {
		t.Errorf("IDBefore(1000) = %s", got)
	}
}
