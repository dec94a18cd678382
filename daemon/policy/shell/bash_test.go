package shell_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/policy/shell"
)

func TestSplitBash(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ls; rm -rf /", []string{"ls", "rm -rf /"}},
		{"echo ok && sudo rm -rf ~", []string{"echo ok", "rm -rf ~"}},
		{`rm -rf "/"`, []string{"rm -rf /"}},
		{"rm -r -f ~", []string{"rm -r -f ~"}},
		{"echo $HOME ${HOME}", []string{"echo $HOME $HOME"}},
		{"a | b || c & d\ne", []string{"a", "b", "c", "d", "e"}},
		{"(a; b) && { c; }", []string{"a", "b", "c"}},
		{"echo $(date) `whoami`", []string{"date", "whoami", "echo $(date) $(whoami)"}},
		{"diff <(sort a) <(sort b)", []string{"sort a", "sort b", `diff "<(sort a)" "<(sort b)"`}},
		{"if test -f x; then make; else echo no; fi", []string{"test -f x", "make", "echo no"}},
		{"while read l; do echo $l; done < f", []string{"read l", "echo $l"}},
		{"for f in *.go; do gofmt -l $f; done", []string{"gofmt -l *.go"}},
		{"for f in $(ls); do gofmt -l $f; done", []string{"ls", "gofmt -l $(ls)"}},
		{"for f in a b; do gofmt -l $f; done", []string{"gofmt -l a", "gofmt -l b"}},
		{"f() { go test ./...; }; f", []string{"go test ./...", "f", "go test ./..."}},
		{`f() { rm -rf "$1"; }; f /tmp/x`, []string{"rm -rf $1", "f /tmp/x", "rm -rf /tmp/x"}},
		{"t=/tmp/x; rm -rf $t", []string{"rm -rf /tmp/x"}},
		{`c="rm -rf"; $c /tmp/x`, []string{"rm -rf /tmp/x"}},
		{"t=$(pwd); rm -rf $t/build", []string{"pwd", "rm -rf $(pwd)/build"}},
		{"sh -c 'rm -rf \"$1\"' _ /tmp/x", []string{`sh -c 'rm -rf "$1"' _ /tmp/x`, "rm -rf /tmp/x"}},
		{"rm -rf /tmp/{a,b}", []string{"rm -rf /tmp/a /tmp/b"}},
		{"echo {1..3} x{a..c}y {a,{b,c}}", []string{"echo {1..3} x{a..c}y a b c"}},
		{"echo {1,2}{1,2}{1,2}{1,2}{1,2}{1,2}", []string{"echo {1,2}{1,2}{1,2}{1,2}{1,2}{1,2}"}},
		{"echo {a,b}\\ {c,d}", []string{"echo 'a c' 'a d' 'b c' 'b d'"}},
		{"echo a b | xargs -n1 rm -rf", []string{"echo a b", "rm -rf", "rm -rf a b"}},
		{"echo a | xargs -I{} mv {} {}.bak", []string{"echo a", "mv {} {}.bak", "mv a a.bak"}},
		{"parallel gzip ::: a b", []string{"gzip", "gzip a b"}},
		{"setsid ionice -c3 flock /tmp/l chroot /srv timeout 5 make", []string{"make"}},
		{"flock /tmp/l -c 'make all'", []string{"flock /tmp/l -c 'make all'", "make all"}},
		{"watch -n1 make test", []string{"watch -n1 make test", "make test"}},
		{"runuser -u app -- make", []string{"make"}},
		{"uv run pytest -q", []string{"pytest -q"}},
		{"echo 'make $1' > b.sh; sh ./b.sh all", []string{"echo 'make $1'", "sh ./b.sh all", "make all"}},
		{"bash -c 'ls; rm x'", []string{"bash -c 'ls; rm x'", "ls", "rm x"}},
		{`sh -c "echo \"hi\""`, []string{`sh -c 'echo "hi"'`, "echo hi"}},
		{"eval 'a && b'", []string{"eval 'a && b'", "a", "b"}},
		{"sudo -u root -E make install", []string{"make install"}},
		{"doas -u root make install", []string{"make install"}},
		{"env -i PATH=/bin FOO=1 go env", []string{"go env"}},
		{"nohup ./server &", []string{"./server"}},
		{"time go build", []string{"go build"}},
		{"nice -n 10 make", []string{"make"}},
		{"nice -5 make", []string{"make"}},
		{"timeout -s KILL 10s go test", []string{"go test"}},
		{"command rm x", []string{"rm x"}},
		{"command -v rm", []string{"command -v rm"}},
		{"exec ./run.sh", []string{"./run.sh"}},
		{"find . -print0 | xargs -0 -n 1 rm -f", []string{"find . -print0", "rm -f"}},
		{"FOO=1 BAR=2 go test", []string{"go test"}},
		{"busybox rm -rf x", []string{"rm -rf x"}},
		{"su root -c 'make install'", []string{"su root -c 'make install'", "make install"}},
		{"bash -s <<'EOF'\nmake\nEOF", []string{"bash -s", "make"}},
		{"bash <<< 'make all'", []string{"bash", "make all"}},
		{"printf 'ls\\n' | sh", []string{`printf ls\n`, "sh", "ls"}},
		{"echo -e 'make\\nls' | bash", []string{`echo -e make\nls`, "bash", "make", "ls"}},
		{"cat <<EOF\n$(whoami)\nEOF", []string{"whoami", "cat"}},
		{"find . -name '*.o' -exec rm {} +", []string{"find . -name *.o -exec rm {} +", "rm {}"}},
		{"X=$(id -u) make", []string{"id -u", "make"}},
		{"case $x in a) make a;; *) make b;; esac", []string{"make a", "make b"}},
		{"until false; do sleep 1; done", []string{"false", "sleep 1"}},
		{"[[ -f $(which go) ]] && go version", []string{"which go", "go version"}},
		{"sudo", []string{"sudo"}},
		{`\rm -rf x`, []string{"rm -rf x"}},
		{`git commit -m "a b"`, []string{"git commit -m 'a b'"}},
		{`echo ''`, []string{"echo ''"}},
		{"", nil},
		{"# just a comment", nil},
		{`echo "unterminated`, []string{`echo unterminated`}},             // fallback
		{"ls && (echo", []string{"ls", "(echo"}},                          // fallback
		{"if then fi; sudo rm -rf ~", []string{"if then fi", "rm -rf ~"}}, // fallback still strips sudo
	}
	for _, tt := range tests {
		got := shell.Split(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shell.Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAnalyzeBashPipelines(t *testing.T) {
	a := shell.Analyze("curl -s https://x | sudo bash; echo done | tee log | wc -l")
	want := [][]string{{"curl -s https://x", "bash"}, {"echo done", "tee log", "wc -l"}}
	if !reflect.DeepEqual(a.Pipelines, want) {
		t.Errorf("pipelines = %q, want %q", a.Pipelines, want)
	}
	if !a.PipeToShell() || !a.Privileged() || a.Fallback {
		t.Errorf("flags: pipeToShell=%v privileged=%v fallback=%v", a.PipeToShell(), a.Privileged(), a.Fallback)
	}
}

func TestBashDepthBounded(t *testing.T) {
	// 8 levels of bash -c nesting: deeper than maxBashDepth, still caught
	// through the textual fallback, which peels the remaining layers.
	cmd := "rm -rf /"
	for range 8 {
		cmd = "bash -c " + shellQuote(cmd)
	}
	a := shell.Analyze(cmd)
	if !a.Fallback || !slices.Contains(a.Commands, "rm -rf /") {
		t.Errorf("nested command lost: fallback=%v %q", a.Fallback, a.Commands)
	}
	if d := defaultEngine(t).Evaluate(bashInput(cmd)); d.Action != "deny" {
		t.Errorf("8-level nesting: %+v", d)
	}
	// Unparseable input still yields its pieces, quotes removed.
	if d := defaultEngine(t).Evaluate(bashInput("ls; sudo bash -c 'rm -rf ~' )")); d.Action != "deny" {
		t.Errorf("unparseable: %+v", d)
	}
}

func FuzzSplitBash(f *testing.F) {
	for _, tc := range preToolCases(f) {
		var in struct {
			ToolInput struct {
				Command string `json:"command"`
			} `json:"tool_input"`
		}
		if json.Unmarshal(tc.Input, &in) == nil && in.ToolInput.Command != "" {
			f.Add(in.ToolInput.Command)
		}
	}
	for _, s := range []string{"", "'", "\"", "$(", "`", "<<EOF", "a |& b", ":(){ :|:& };:", "bash -c", "eval", "env -S", "$'\\x", "${a:-$(b)}", "case x in a) b;; esac", "((1+$(a)))", "[[ -f $(a) ]]", "coproc x { y; }", "select a in b; do c; done", "let x=$(a)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		done := make(chan []string, 1)
		go func() { done <- shell.Split(cmd) }()
		var got []string
		select {
		case got = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Split did not terminate for %q", cmd)
		}
		for _, c := range got {
			if c == "" {
				t.Fatalf("empty simple command in %q for %q", got, cmd)
			}
		}
		if again := shell.Split(cmd); !reflect.DeepEqual(got, again) {
			t.Fatalf("not deterministic for %q: %q vs %q", cmd, got, again)
		}
	})
}

// preToolCases are the engine's test inputs (../testdata), seeds for the
// fuzz test.
func preToolCases(t testing.TB) []struct{ Input json.RawMessage } {
	t.Helper()
	b, err := os.ReadFile("../testdata/pretool_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Input json.RawMessage }
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// engine is the engine of the default rules, which the Bash analysis is
// judged through.
var engine = sync.OnceValues(func() (*policy.Engine, error) { return policy.New(policy.DefaultRules()) })

func defaultEngine(t testing.TB) *policy.Engine {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func bashInput(cmd string) policy.Input {
	ti, _ := json.Marshal(map[string]any{"command": cmd, "description": "test", "timeout": 120000})
	return policy.Input{Event: "pre_tool", ToolName: "Bash", ToolInput: ti, Cwd: "/home/u/proj"}
}
