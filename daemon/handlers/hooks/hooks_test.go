package hooks

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/claudebench/cb/internal/policytest"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// preTool is the hook.pre_tool handler of Handlers(d).
func preTool(t *testing.T, d Deps) registry.Handler {
	t.Helper()
	for _, h := range Handlers(d) {
		if h.Event == "hook.pre_tool" {
			return h
		}
	}
	t.Fatal("no hook.pre_tool handler")
	return registry.Handler{}
}

// TestDuplicateKeysRefuse: with hook.duplicate_keys refuse, an ambiguous
// input is not judged: the answer is the fail mode's (closed denies, open
// has no opinion), and the audit says why.
func TestDuplicateKeysRefuse(t *testing.T) {
	e := policytest.DefaultEngine(t)
	for _, closed := range []bool{false, true} {
		var audited []api.AuditRecord
		h := preTool(t, Deps{
			Engine:        func() *policy.Engine { return e },
			DuplicateKeys: DuplicateKeysRefuse,
			FailClosed:    func(string) bool { return closed },
			Audit:         func(r api.AuditRecord) { audited = append(audited, r) },
		})
		// The last value is harmless: judged, it would be allowed through.
		in := `{"tool_name":"Bash","tool_input":{"command":"rm -rf /","command":"ls"}}`
		out, err := h.Fn(context.Background(), &registry.Request{Params: json.RawMessage(in)})
		if err != nil {
			t.Fatal(err)
		}
		res := out.(protocol.HookResult)
		want := protocol.DecisionNone
		if closed {
			want = protocol.DecisionDeny
		}
		if res.Decision != want || !strings.Contains(res.Reason, `"command" twice`) || len(res.RuleIDs) != 0 {
			t.Fatalf("closed=%v: %+v, want decision %q naming the key", closed, res, want)
		}
		if len(audited) != 1 || !strings.Contains(audited[0].Reason, "hook.duplicate_keys") {
			t.Fatalf("closed=%v: audit %+v", closed, audited)
		}
		// Without duplicates, refuse mode judges as always.
		out, err = h.Fn(context.Background(), &registry.Request{Params: json.RawMessage(`{"tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`)})
		if err != nil || out.(protocol.HookResult).Decision != protocol.DecisionDeny {
			t.Fatalf("closed=%v: plain rm -rf /: %+v %v", closed, out, err)
		}
	}
}

// TestShedSkipsOnlyNoOpinionAudit: a request run over its rate limit is
// decided as always; its audit record is kept when it decided something.
func TestShedSkipsOnlyNoOpinionAudit(t *testing.T) {
	e := policytest.DefaultEngine(t)
	var audited []string
	h := preTool(t, Deps{Engine: func() *policy.Engine { return e },
		Audit: func(r api.AuditRecord) { audited = append(audited, r.Decision) }})
	for _, in := range []string{
		`{"tool_name":"Bash","tool_input":{"command":"ls"}}`,
		`{"tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`,
	} {
		out, err := h.Fn(context.Background(), &registry.Request{Params: json.RawMessage(in), Shed: true})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(in, "rm") != (out.(protocol.HookResult).Decision == protocol.DecisionDeny) {
			t.Fatalf("%s: %+v", in, out)
		}
	}
	if !reflect.DeepEqual(audited, []string{"deny"}) {
		t.Fatalf("audited %v, want only the deny", audited)
	}
}
