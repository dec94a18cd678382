package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/claudebench/cb/protocol"
)

// renderInputs are the hook results every event is rendered with.
var renderInputs = map[string]protocol.HookResult{
	"none":     {},
	"reason":   {Reason: "why"}, // a reason without a decision is no opinion
	"allow":    {Decision: protocol.DecisionAllow, Reason: "ok"},
	"deny":     {Decision: protocol.DecisionDeny, Reason: "no"},
	"denyBare": {Decision: protocol.DecisionDeny},
	"ask":      {Decision: protocol.DecisionAsk, Reason: "check"},
	"cancel":   {Decision: protocol.DecisionCancel},
	"context":  {AdditionalContext: "ctx"},
	"denyCtx":  {Decision: protocol.DecisionDeny, Reason: "no", AdditionalContext: "ctx"},
	"allowCtx": {Decision: protocol.DecisionAllow, AdditionalContext: "ctx"},
	"updated": {Decision: protocol.DecisionAllow, UpdatedInput: json.RawMessage(`{"command":"ls"}`),
		UpdatedPermissions: json.RawMessage(`[{"type":"setMode","mode":"acceptEdits","destination":"session"}]`)},
	"updatedOnly":    {UpdatedInput: json.RawMessage(`{"command":"ls"}`)},
	"askUpdated":     {Decision: protocol.DecisionAsk, UpdatedInput: json.RawMessage(`{"command":"ls"}`)},
	"denyUpdated":    {Decision: protocol.DecisionDeny, Reason: "no", UpdatedInput: json.RawMessage(`{"command":"ls"}`)},
	"interrupt":      {Decision: protocol.DecisionDeny, Reason: "stop", Interrupt: true},
	"allowInterrupt": {Decision: protocol.DecisionAllow, Interrupt: true},
}

// Expected outputs shared by several events (reference §2.3, §3.3).
func blockOutputs() map[string]string {
	return map[string]string{
		"deny":        `{"decision":"block","reason":"no"}`,
		"denyBare":    `{"decision":"block","reason":"blocked by ClaudeBench"}`,
		"denyUpdated": `{"decision":"block","reason":"no"}`,
		"interrupt":   `{"decision":"block","reason":"stop"}`,
		"denyCtx":     `{"decision":"block","reason":"no"}`,
	}
}

// blockContextOutputs: events that read decision:"block" and whose
// hookSpecificOutput carries additionalContext.
func blockContextOutputs(ev string) map[string]string {
	hso := `"hookSpecificOutput":{"additionalContext":"ctx","hookEventName":"` + ev + `"}`
	out := blockOutputs()
	out["context"] = `{` + hso + `}`
	out["allowCtx"] = `{` + hso + `}`
	out["denyCtx"] = `{"decision":"block",` + hso + `,"reason":"no"}`
	return out
}

// contextOutputs: events whose only answer is additionalContext (they
// cannot block: exit 2 and decision:"block" only show the user an error).
func contextOutputs(ev string) map[string]string {
	o := `{"hookSpecificOutput":{"additionalContext":"ctx","hookEventName":"` + ev + `"}}`
	return map[string]string{"context": o, "denyCtx": o, "allowCtx": o}
}

func permissionDecisionOutputs(ev string) map[string]string {
	pd := func(d, reason string) string {
		s := `{"hookSpecificOutput":{"hookEventName":"` + ev + `","permissionDecision":"` + d + `"`
		if reason != "" {
			s += `,"permissionDecisionReason":"` + reason + `"`
		}
		return s + `}}`
	}
	return map[string]string{
		"allow":          pd("allow", "ok"),
		"allowCtx":       pd("allow", ""),
		"allowInterrupt": pd("allow", ""),
		"deny":           pd("deny", "no"),
		"denyBare":       pd("deny", ""),
		"denyCtx":        pd("deny", "no"),
		"denyUpdated":    pd("deny", "no"),
		"interrupt":      pd("deny", "stop"),
		"ask":            pd("ask", "check"),
		"askUpdated":     pd("ask", ""),
		"updated":        pd("allow", ""),
	}
}

func elicitationOutputs(ev string) map[string]string {
	hso := func(action, content string) string {
		s := `"hookSpecificOutput":{"action":"` + action + `"`
		if content != "" {
			s += `,"content":` + content
		}
		return s + `,"hookEventName":"` + ev + `"}`
	}
	decline := func(reason string) string {
		return `{"decision":"block",` + hso("decline", "") + `,"reason":"` + reason + `"}`
	}
	return map[string]string{
		"allow":          `{` + hso("accept", "") + `}`,
		"allowCtx":       `{` + hso("accept", "") + `}`,
		"allowInterrupt": `{` + hso("accept", "") + `}`,
		"updated":        `{` + hso("accept", `{"command":"ls"}`) + `}`,
		"deny":           decline("no"),
		"denyBare":       decline("Elicitation denied by ClaudeBench"),
		"denyCtx":        decline("no"),
		"denyUpdated":    decline("no"),
		"interrupt":      decline("stop"),
		"cancel":         `{` + hso("cancel", "") + `}`,
	}
}

// renderWant is, per Claude Code event, the exact stdout of each render
// input; an input not listed renders nothing (no opinion).
func renderWant() map[string]map[string]string {
	preTool := permissionDecisionOutputs("PreToolUse")
	const hsoPre = `{"hookSpecificOutput":{`
	preTool["context"] = hsoPre + `"additionalContext":"ctx","hookEventName":"PreToolUse"}}`
	preTool["allowCtx"] = hsoPre + `"additionalContext":"ctx","hookEventName":"PreToolUse","permissionDecision":"allow"}}`
	preTool["denyCtx"] = hsoPre + `"additionalContext":"ctx","hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"no"}}`
	// updatedInput goes with allow or ask, or alone; a deny drops it.
	preTool["updated"] = hsoPre + `"hookEventName":"PreToolUse","permissionDecision":"allow","updatedInput":{"command":"ls"}}}`
	preTool["askUpdated"] = hsoPre + `"hookEventName":"PreToolUse","permissionDecision":"ask","updatedInput":{"command":"ls"}}}`
	preTool["updatedOnly"] = hsoPre + `"hookEventName":"PreToolUse","updatedInput":{"command":"ls"}}}`

	const pr = `{"hookSpecificOutput":{"decision":{"behavior":`
	const prEnd = `},"hookEventName":"PermissionRequest"}}`
	permissionRequest := map[string]string{
		"allow":          pr + `"allow"` + prEnd,
		"allowCtx":       pr + `"allow"` + prEnd,
		"allowInterrupt": pr + `"allow"` + prEnd,
		"updated": pr + `"allow","updatedInput":{"command":"ls"},` +
			`"updatedPermissions":[{"type":"setMode","mode":"acceptEdits","destination":"session"}]` + prEnd,
		"deny":        pr + `"deny","message":"no"` + prEnd,
		"denyBare":    pr + `"deny"` + prEnd,
		"denyCtx":     pr + `"deny","message":"no"` + prEnd,
		"denyUpdated": pr + `"deny","message":"no"` + prEnd,
		"interrupt":   pr + `"deny","interrupt":true,"message":"stop"` + prEnd,
	}

	retry := `{"hookSpecificOutput":{"hookEventName":"PermissionDenied","retry":true}}`
	permissionDenied := map[string]string{"allow": retry, "allowCtx": retry, "allowInterrupt": retry, "updated": retry}

	preCompact := blockOutputs()
	preCompact["context"] = "ctx" // plain text: appended to the compaction instructions
	preCompact["allowCtx"] = "ctx"

	want := map[string]map[string]string{
		"PreToolUse":         preTool,
		"PermissionRequest":  permissionRequest,
		"PermissionDenied":   permissionDenied,
		"PreModelSwitch":     permissionDecisionOutputs("PreModelSwitch"),
		"Elicitation":        elicitationOutputs("Elicitation"),
		"ElicitationResult":  elicitationOutputs("ElicitationResult"),
		"TeammateIdle":       blockOutputs(),
		"TaskCreated":        blockOutputs(),
		"TaskCompleted":      blockOutputs(),
		"ConfigChange":       blockOutputs(),
		"PreCompact":         preCompact,
		"Notification":       nil, // the dispatcher discards every result
		"SessionEnd":         nil,
		"StopFailure":        nil,
		"PostCompact":        nil,
		"InstructionsLoaded": nil,
		"CwdChanged":         nil,
		"FileChanged":        nil,
		"DirectoryAdded":     nil,
		"WorktreeCreate":     nil, // stdout would be taken as the worktree path
		"WorktreeRemove":     nil,
		"MessageDisplay":     nil,
		"BrandNewEvent":      nil, // a newer Claude Code's event: no opinion
	}
	for _, ev := range []string{"PostToolUse", "PostToolUseFailure", "PostToolBatch", "UserPromptSubmit",
		"UserPromptExpansion", "Stop", "SubagentStop"} {
		want[ev] = blockContextOutputs(ev)
	}
	for _, ev := range []string{"SessionStart", "Setup", "SubagentStart", "PostModelSwitch"} {
		want[ev] = contextOutputs(ev)
	}
	return want
}

// TestRenderHookOutputEveryEvent renders every render input on every event
// of HookEvents and checks the exact bytes against reference §2.3/§3.
func TestRenderHookOutputEveryEvent(t *testing.T) {
	want := renderWant()
	for _, ev := range referenceEvents {
		if _, ok := want[ev]; !ok {
			t.Errorf("%s: no expected outputs", ev)
		}
	}
	for ev, outs := range want {
		if _, ok := protocol.LookupClaudeEvent(ev); !ok && ev != "BrandNewEvent" {
			t.Errorf("%s: not in HookEvents", ev)
		}
		for in := range outs {
			if _, ok := renderInputs[in]; !ok {
				t.Fatalf("%s: expected output for unknown input %q", ev, in)
			}
		}
		for name, res := range renderInputs {
			got := string(protocol.RenderHookOutput(ev, res))
			if got != outs[name] {
				t.Errorf("%s × %s:\n got %s\nwant %s", ev, name, got, outs[name])
			}
			if got != "" && ev != "PreCompact" && !json.Valid([]byte(got)) {
				t.Errorf("%s × %s: not JSON: %s", ev, name, got)
			}
		}
	}
}

// TestRenderHookOutputClipsStrings: reasons and context longer than Claude
// Code's 10,000-character cap are cut, on a rune boundary.
func TestRenderHookOutputClipsStrings(t *testing.T) {
	long := strings.Repeat("a", 9999) + "é" + strings.Repeat("b", 50)
	for _, c := range []struct {
		ev  string
		res protocol.HookResult
	}{
		{"PreToolUse", protocol.HookResult{Decision: protocol.DecisionDeny, Reason: long}},
		{"UserPromptSubmit", protocol.HookResult{AdditionalContext: long}},
		{"PermissionRequest", protocol.HookResult{Decision: protocol.DecisionDeny, Reason: long}},
	} {
		out := protocol.RenderHookOutput(c.ev, c.res)
		var doc struct {
			Reason string `json:"reason"`
			HSO    struct {
				Context  string `json:"additionalContext"`
				Reason   string `json:"permissionDecisionReason"`
				Decision struct {
					Message string `json:"message"`
				} `json:"decision"`
			} `json:"hookSpecificOutput"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("%s: %v: %s", c.ev, err, out)
		}
		s := doc.Reason + doc.HSO.Context + doc.HSO.Reason + doc.HSO.Decision.Message
		if s != strings.Repeat("a", 9999) || !utf8.ValidString(s) {
			t.Errorf("%s: clipped to %d bytes, want the 9999 bytes before the split rune", c.ev, len(s))
		}
	}
}
