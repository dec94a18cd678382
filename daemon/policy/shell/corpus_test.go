package shell_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/policy/shell"
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
		case policy.ActionDeny:
			caught++
			denied++
		case policy.ActionAsk:
			caught++
		}
		switch {
		case v.Want == policy.ActionDeny && d.Action != policy.ActionDeny,
			v.Want == policy.ActionAsk && d.Action != policy.ActionAsk && d.Action != policy.ActionDeny:
			t.Errorf("%q: %q (rules %v), want %s; commands %q", v.Cmd, d.Action, d.RuleIDs, v.Want, shell.Split(v.Cmd))
		case v.Want != policy.ActionDeny && v.Want != policy.ActionAsk:
			t.Errorf("%q: bad want %q", v.Cmd, v.Want)
		}
	}
	asked := 0
	for _, cmd := range c.Harmless {
		d := e.Evaluate(bashInput(cmd))
		switch d.Action {
		case policy.ActionDeny:
			t.Errorf("look-alike %q denied (rules %v); commands %q", cmd, d.RuleIDs, shell.Split(cmd))
		case policy.ActionAsk:
			asked++
			t.Errorf("look-alike %q asked (rules %v); commands %q", cmd, d.RuleIDs, shell.Split(cmd))
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
		*shell.RecoverPanics = false
		defer func() { *shell.RecoverPanics = true }()
		done := make(chan policy.Decision, 1)
		go func() { done <- e.Evaluate(bashInput(cmd)) }()
		var d policy.Decision
		select {
		case d = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Evaluate did not terminate for %q", cmd)
		}
		if again := e.Evaluate(bashInput(cmd)); !reflect.DeepEqual(d, again) {
			t.Fatalf("not deterministic for %q: %+v vs %+v", cmd, d, again)
		}
		for _, c := range shell.Analyze(cmd).Commands {
			if c == "" {
				t.Fatalf("empty simple command for %q", cmd)
			}
		}
	})
}
