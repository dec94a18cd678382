package policy

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// bashCorpus is testdata/bash_corpus.json: destructive Bash variants, each
// with the weakest decision the default rules must give it ("deny", or "ask"
// where ask or deny will do), and harmless look-alikes that must not be
// denied (nor, so far, asked).
type bashCorpus struct {
	Destructive []struct {
		Cmd  string `json:"cmd"`
		Want string `json:"want"`
	} `json:"destructive"`
	Harmless []string `json:"harmless"`
}

func loadCorpus(t testing.TB) bashCorpus {
	t.Helper()
	b, err := os.ReadFile("testdata/bash_corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var c bashCorpus
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBashCorpus runs the default rules over the corpus of destructive
// variants and harmless look-alikes (issue 12).
func TestBashCorpus(t *testing.T) {
	c := loadCorpus(t)
	if len(c.Destructive) < 150 || len(c.Harmless) < 30 {
		t.Fatalf("corpus too small: %d destructive, %d harmless", len(c.Destructive), len(c.Harmless))
	}
	e := defaultEngine(t)
	caught, denied := 0, 0
	seen := map[string]bool{}
	for _, v := range c.Destructive {
		if seen[v.Cmd] {
			t.Errorf("duplicate corpus entry %q", v.Cmd)
		}
		seen[v.Cmd] = true
		d := e.Evaluate(bashInput(v.Cmd))
		switch d.Action {
		case ActionDeny:
			caught++
			denied++
		case ActionAsk:
			caught++
		}
		switch {
		case v.Want == ActionDeny && d.Action != ActionDeny,
			v.Want == ActionAsk && d.Action != ActionAsk && d.Action != ActionDeny:
			t.Errorf("%q: %q (rules %v), want %s; commands %q", v.Cmd, d.Action, d.RuleIDs, v.Want, Split(v.Cmd))
		case v.Want != ActionDeny && v.Want != ActionAsk:
			t.Errorf("%q: bad want %q", v.Cmd, v.Want)
		}
	}
	asked := 0
	for _, cmd := range c.Harmless {
		d := e.Evaluate(bashInput(cmd))
		switch d.Action {
		case ActionDeny:
			t.Errorf("look-alike %q denied (rules %v); commands %q", cmd, d.RuleIDs, Split(cmd))
		case ActionAsk:
			asked++
			t.Errorf("look-alike %q asked (rules %v); commands %q", cmd, d.RuleIDs, Split(cmd))
		}
	}
	rate := float64(caught) / float64(len(c.Destructive))
	t.Logf("destructive: %d/%d caught (%d denied, %d asked), %d passed; look-alikes: %d, %d asked",
		caught, len(c.Destructive), denied, caught-denied, len(c.Destructive)-caught, len(c.Harmless), asked)
	if rate < 0.95 {
		t.Errorf("only %.1f%% of destructive variants caught, want >= 95%%", 100*rate)
	}
}

// FuzzAnalyzeBash runs the default rules over arbitrary command lines with
// panics surfacing (Analyze otherwise turns them into the textual
// fallback): no panic, bounded time, the same decision twice, no empty
// simple command.
func FuzzAnalyzeBash(f *testing.F) {
	c := loadCorpus(f)
	for _, v := range c.Destructive {
		f.Add(v.Cmd)
	}
	for _, h := range c.Harmless {
		f.Add(h)
	}
	for _, s := range []string{"f(){ f \"$@\"; }; f a", "for a in {1..3}; do for b in $a x; do rm $b; done; done", "set -- a; set --; echo $1 $@ $*",
		"x=; $x", "IFS=; x", "echo {,}{,}{,}", "xargs -I", "parallel ::: a", "parallel a :::: b", "watch", "su -c", "flock", "env -S",
		"python3 -c", "awk -f", "deno eval", "g(){ h; }; h(){ g; }; g", "echo ${@:-x} \"${*}\" $10 $#"} {
		f.Add(s)
	}
	e := defaultEngine(f)
	f.Fuzz(func(t *testing.T, cmd string) {
		recoverPanics = false
		defer func() { recoverPanics = true }()
		done := make(chan Decision, 1)
		go func() { done <- e.Evaluate(bashInput(cmd)) }()
		var d Decision
		select {
		case d = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Evaluate did not terminate for %q", cmd)
		}
		if again := e.Evaluate(bashInput(cmd)); !reflect.DeepEqual(d, again) {
			t.Fatalf("not deterministic for %q: %+v vs %+v", cmd, d, again)
		}
		for _, c := range Analyze(cmd).Commands {
			if c == "" {
				t.Fatalf("empty simple command for %q", cmd)
			}
		}
	})
}

// TestReadmeListsWrappers: the README's wrapper list names exactly the
// commands of the wrapper table.
func TestReadmeListsWrappers(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start, end := strings.Index(text, "<!-- BEGIN wrappers -->"), strings.Index(text, "<!-- END wrappers -->")
	if start < 0 || end < start {
		t.Fatal("README has no wrappers block")
	}
	var listed []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(text[start:end], -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	if want := WrapperNames(); !slices.Equal(listed, want) {
		t.Errorf("README wrappers = %q\nwant %q", listed, want)
	}
}

// TestEveryWrapperIsStripped: rm -rf / behind each wrapper of the table
// (with the operands or code option the wrapper needs) is denied.
func TestEveryWrapperIsStripped(t *testing.T) {
	e := defaultEngine(t)
	for _, name := range WrapperNames() {
		w := wrappers[name]
		argv := []string{name}
		if w.sub != "" {
			argv = append(argv, w.sub)
		}
		switch {
		case w.codeOnly && w.code != "":
			argv = append(argv, "-"+w.code[:1], shellQuote("rm -rf /"))
		case w.codeOnly:
			argv = append(argv, "--"+w.codeLong[0], shellQuote("rm -rf /"))
		default:
			for range w.operands {
				argv = append(argv, "x")
			}
			argv = append(argv, "rm", "-rf", "/")
		}
		cmd := strings.Join(argv, " ")
		if d := e.Evaluate(bashInput(cmd)); d.Action != ActionDeny {
			t.Errorf("%q: %q (rules %v); commands %q", cmd, d.Action, d.RuleIDs, Split(cmd))
		}
		if w.doc == "" && (w.operands > 0 || w.sub != "" || w.codeOnly || w.joined || w.stdinArgs) {
			t.Errorf("%s: the README needs its syntax (doc)", name)
		}
	}
}
