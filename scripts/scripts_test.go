package scripts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTaskSources: every file in tasks/ but lib.lua has a TaskSource, which
// starts with lib.lua; unknown names give "".
func TestTaskSources(t *testing.T) {
	files, err := filepath.Glob("tasks/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob tasks: %v %v", files, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".lua")
		if name == "lib" {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := TaskSource(name)
		if !strings.HasPrefix(src, taskLib) || !strings.HasSuffix(src, string(body)) {
			t.Errorf("TaskSource(%q) is not lib.lua + %s", name, f)
		}
	}
	if TaskSource("nope") != "" {
		t.Error(`TaskSource("nope") != ""`)
	}
	for name, s := range map[string]string{"call": Call, "admit": Admit, "circuit": Circuit} {
		if !strings.Contains(s, "redis.call(") {
			t.Errorf("%s.lua looks empty", name)
		}
	}
}
