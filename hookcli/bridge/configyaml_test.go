package bridge

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// leanConfigCorpus are config files as people write them, and the YAML that
// readConfigLean must leave to the full parser.
var leanConfigCorpus = []string{
	"\nhook:\n  rules:\n    - id: test-npm-timeout\n      tool: Bash\n      match: '^npm test'\n      action: modify\n      replace: {timeout: 600000}\n    - id: p\n      context: 'Deploys need the release checklist.'\n  fail_mode: closed\n",
	"",
	"# only a comment\n",
	"redis:\n  url: unix:///run/user/1000/claudebench/redis.sock\n",
	"redis:\n  url: \"redis://:secret@127.0.0.1:6379/2\"   # quoted\n",
	"redis:\n  url: 'redis://h:6379/0#x'\n",
	"redis:\n    url: redis://h/0#frag # comment\n    mode: managed\n",
	"hook:\n  timeout: 1500ms\n  fail_mode: closed\n  max_input_bytes: 1048576\n  pre_tool:\n    fail_mode: open\n",
	"hook:\n  timeout: 1m30s\n  fail_mode: ~\n  user_prompt:\n    fail_mode: null\n",
	"hook:\n  fail_mode:\n  pre_tool:\n",
	"hook:\n  timeout: 2s\n  rules:\n  - id: no-prod\n    tool: Bash\n    match: 'psql .*prod'\n    action: deny\n  - id: x\n    reason: |\n      multi\n      line: text\n  disabled_rules: [deny-rm-root, other]\n  fail_mode: closed\n",
	"hook:\n  rules:\n    - id: a\n      special: outside_cwd\n  pre_tool:\n    fail_mode: closed\n",
	"log:\n  level: debug\ninstance:\n  roles: [hooks, tasks]\n  heartbeat: 10s\nhook:\n  timeout: 3s\n",
	"http:\n  allowed_hosts:\n  - a.example\n  - b.example\nhook:\n  max_input_bytes: 0\n",
	"store:\n  url: postgres://u:p@h:5432/db?sslmode=disable\n\n\nhook:\n\n  timeout: 2s\n\n",
	"hook:\n  timeout: 2s\n  pre_tool:\n    fail_mode: closed\n  post_tool:\n    fail_mode: open\nredis:\n  url: unix:///tmp/r.sock\n",
	"hook: {timeout: 1s}\n",
	"hook:\n  timeout: &t 1s\nother: *t\n",
	"hook:\n  timeout: !!str 1s\n",
	"hook:\n  timeout: 1s\n  timeout: 2s\n",
	"hook:\n  fail_mode: \"clo\\x73ed\"\n",
	"hook:\n  fail_mode: \"closed\n    still\"\n",
	"hook:\n  fail_mode: closed\n    and more\n",
	"hook:\n  max_input_bytes: 0x100\n",
	"hook:\n  max_input_bytes: 1_000\n",
	"hook:\n  max_input_bytes: 1e6\n",
	"hook:\n  max_input_bytes: 0755\n",
	"hook:\n  max_input_bytes: -5\n",
	"hook:\n  fail_mode: yes\n",
	"hook:\n  fail_mode: True\n",
	"hook:\n  fail_mode: |\n    closed\n",
	"hook:\n  fail_mode: >-\n    closed\n",
	"hook:\n\ttimeout: 1s\n",
	"hook:\r\n  timeout: 1s\r\n",
	"---\nhook:\n  timeout: 1s\n",
	"hook:\n  timeout: 1s\n---\nhook:\n  timeout: 2s\n",
	"- a\n- b\n",
	"just a string\n",
	"\"hook\":\n  timeout: 1s\n",
	"hook:\n   timeout: 1s\n  fail_mode: closed\n",
	"hook:\n  <<: {timeout: 1s}\n",
	"1: x\nhook:\n  timeout: 1s\n",
	"hook:\n  on: x\n  timeout: 1s\n",
	"hook :\n  timeout: 1s\n",
	"hook:\n  timeout:1s\n",
	"hook:\n  timeout: a: b\n",
	"hook:\n  fail_mode: 'it''s'\n",
	"hook:\n  fail_mode: \"\"\n",
	"hook:\n  fail_mode: closed # closed\n",
	"hook:\n  fail_mode: closed#x\n",
	"hook:\n  fail_mode: <<\n",
	"hook:\n  fail_mode: 'a' b\n",
	"hook:\n  fail_mode: .inf\n",
	"hook:\n  fail_mode: 2001-12-14\n",
	"hook:\n  fail_mode: \n  timeout: 1s\n",
	"hook:\n  pre_tool:\n  - a\n  timeout: 1s\n",
	"hook:\n  pre_tool:\n    - a\n",
	"hook:\n  pre_tool:\n    \"quoted\": 1\n",
	"a:\n  b:\n    c:\n      d: 1\n  e: 2\nhook:\n  timeout: 4s\n",
	"hook:\n  # comment\n  timeout: 4s\n# trailing\n",
	"hook:\n  timeout: 4s\n# comment\n    continued\n",
	"hook:\n  timeout: [1s,\n    2s]\n",
	"hook:\n  timeout: [1s, 2s]\n",
	"hook:\n  timeout: {a: 1}\n",
	"hook:\n  timeout: x\n  ? complex\n",
	"%YAML 1.2\n---\nhook:\n  timeout: 1s\n",
}

// hookLookups are the settings cb hook reads.
func hookLookups() []string {
	keys := []string{"redis.url", "hook.timeout", "hook.fail_mode", "hook.max_input_bytes"}
	for _, t := range []string{"pre_tool", "post_tool", "user_prompt"} {
		keys = append(keys, "hook."+t+".fail_mode")
	}
	return keys
}

// checkLeanAgainstYAML fails when readConfigForHook accepts data, yaml.v3
// does too, and a setting cb hook reads differs between them.
func checkLeanAgainstYAML(t *testing.T, data string) (accepted bool) {
	t.Helper()
	lean, err := readConfigLean([]byte(data))
	if err == nil {
		err = probeLean(lean, hookLookups())
	}
	if err != nil {
		if err != errNeedsYAML {
			t.Fatalf("%q: error %v, want errNeedsYAML", data, err)
		}
		return false
	}
	var full map[string]any
	if yaml.Unmarshal([]byte(data), &full) != nil {
		// YAML errors inside values cb hook skips (a broken rule list)
		// are cbd's and cb-cli's to report; cb hook reads on.
		return true
	}
	ls := &Settings{file: lean}
	fs := &Settings{file: full}
	for _, k := range hookLookups() {
		lv, lok := ls.fromFile(k)
		fv, fok := fs.fromFile(k)
		if lok != fok || !reflect.DeepEqual(lv, fv) {
			t.Errorf("%q: %s = %#v (%v), yaml %#v (%v)", data, k, lv, lok, fv, fok)
		}
	}
	return true
}

func TestReadConfigLeanMatchesYAML(t *testing.T) {
	accepted := 0
	for _, c := range leanConfigCorpus {
		if checkLeanAgainstYAML(t, c) {
			accepted++
		}
	}
	t.Logf("lean reader took %d of %d configs", accepted, len(leanConfigCorpus))
	// The usual shapes must stay on the lean path.
	for _, c := range leanConfigCorpus[:16] {
		if _, err := readConfigLean([]byte(c)); err != nil {
			t.Errorf("%q: %v, want it read without yaml", c, err)
		}
	}
}

func FuzzReadConfigLean(f *testing.F) {
	for _, c := range leanConfigCorpus {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if strings.Count(data, "\n") > 200 {
			return
		}
		checkLeanAgainstYAML(t, data)
	})
}
