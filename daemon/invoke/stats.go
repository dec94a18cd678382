package invoke

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"
)

// Stats counts what the chain did, per method. The set of methods is fixed
// at start, so reads need no lock.
type Stats struct {
	methods map[string]*MethodStats
	// refused: method -> requests callers' call.lua refused over the rate
	// limit, shared by every instance (see SetCallerRefusals).
	refused atomic.Pointer[map[string]int64]
	// decisions: DecisionKey -> *atomic.Int64, the hook answers of every
	// transport (the labels come from fixed sets, see ToolLabel).
	decisions sync.Map
}

// DecisionKey labels one count of hook answers.
type DecisionKey struct {
	Event    string // hook type: pre_tool, user_prompt, ...
	Tool     string // ToolLabel of the hook's tool_name
	Decision string // allow, deny, ask, ... or "none" for no opinion
}

// knownTools are the tool names ToolLabel keeps as they are: Claude Code's
// built-in tools as of version 2.1 (with Task, the old name of Agent). Any
// other name is input, so it never becomes a label of its own.
var knownTools = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`Agent Task Bash PowerShell Read Write Edit NotebookEdit Glob Grep
		WebFetch WebSearch TodoWrite TaskCreate TaskGet TaskList TaskUpdate TaskStop AskUserQuestion
		ExitPlanMode EnterPlanMode EnterWorktree ExitWorktree Skill ToolSearch ListMcpResourcesTool
		ReadMcpResourceTool ReadMcpResourceDirTool LSP Monitor SendMessage SendUserMessage SendFile
		ListAgents CronCreate CronDelete CronList ScheduleWakeup RemoteTrigger Workflow Artifact
		PushNotification ReportFindings SendFeedback SetGoal REPL StructuredOutput ObserverReport`) {
		m[t] = true
	}
	return m
}()

// ToolLabel maps a hook's tool_name to a label from a fixed set: a known
// tool, "mcp" for mcp__* tools, "other", or "" for hooks without a tool.
func ToolLabel(name string) string {
	switch {
	case name == "" || knownTools[name]:
		return name
	case strings.HasPrefix(name, "mcp__"):
		return "mcp"
	}
	return "other"
}

// recordHook counts the answer res of a hook method (hook.<type>) called
// with params, whatever transport brought it: `cb hook` over Redis, http
// hooks, /rpc, /ws. Other methods are ignored.
func (s *Stats) recordHook(method string, params, res json.RawMessage) {
	hookType, ok := strings.CutPrefix(method, "hook.")
	if !ok || s.methods[method] == nil {
		return
	}
	decision := gjson.GetBytes(res, "decision").String()
	if decision == protocol.DecisionNone {
		decision = "none"
	}
	k := DecisionKey{Event: hookType, Tool: ToolLabel(gjson.GetBytes(params, "tool_name").String()), Decision: decision}
	n, ok := s.decisions.Load(k)
	if !ok {
		n, _ = s.decisions.LoadOrStore(k, new(atomic.Int64))
	}
	n.(*atomic.Int64).Add(1)
}

// Decisions copies the hook answer counts.
func (s *Stats) Decisions() map[DecisionKey]int64 {
	out := map[DecisionKey]int64{}
	s.decisions.Range(func(k, v any) bool {
		out[k.(DecisionKey)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// MethodStats are one method's counters.
type MethodStats struct {
	Calls       atomic.Int64
	Errors      atomic.Int64
	Timeouts    atomic.Int64
	RateLimited atomic.Int64
	CircuitOpen atomic.Int64
	// Expired counts requests dropped unrun because their caller's
	// deadline had passed when they were read.
	Expired   atomic.Int64
	Shed      atomic.Int64 // over the rate limit, run in shed mode
	LatencyNs atomic.Int64 // sum
	MaxNs     atomic.Int64
}

// NewStats prepares counters for methods.
func NewStats(methods []string) *Stats {
	s := &Stats{methods: make(map[string]*MethodStats, len(methods))}
	for _, m := range methods {
		s.methods[m] = &MethodStats{}
	}
	return s
}

// record counts one call of method taking d (d == 0: only count err, for a
// rejection answered by a fallback).
func (s *Stats) record(method string, d time.Duration, err *protocol.Error) {
	m := s.methods[method]
	if m == nil {
		return
	}
	if d > 0 {
		m.Calls.Add(1)
		m.LatencyNs.Add(int64(d))
	}
	for {
		cur := m.MaxNs.Load()
		if int64(d) <= cur || m.MaxNs.CompareAndSwap(cur, int64(d)) {
			break
		}
	}
	if err == nil {
		return
	}
	switch err.Code {
	case protocol.CodeTimeout:
		m.Timeouts.Add(1)
	case protocol.CodeRateLimited:
		m.RateLimited.Add(1)
	case protocol.CodeCircuitOpen:
		m.CircuitOpen.Add(1)
	}
	m.Errors.Add(1)
}

// RecordExpired counts n requests of method dropped unrun because their
// caller's deadline had passed (the Redis dispatcher finds them).
func (s *Stats) RecordExpired(method string, n int64) {
	if m := s.methods[method]; m != nil {
		m.Expired.Add(n)
	}
}

// shed counts one request of method run in shed mode (over its rate
// limit; see protocol.ShedsOverLimit).
func (s *Stats) shed(method string) {
	if m := s.methods[method]; m != nil {
		m.Shed.Add(1)
	}
}

// SetCallerRefusals records how many requests of each method call.lua has
// refused for being over the rate limit (protocol.RateLimitedKey). Such
// requests never reach cbd; Snapshot counts them as rate-limited errors.
func (s *Stats) SetCallerRefusals(refused map[string]int64) { s.refused.Store(&refused) }

// WatchCallerRefusals reads the callers' refusals from Redis every period
// into s until ctx is done; a failed read keeps the last figures.
func WatchCallerRefusals(ctx context.Context, rdb redis.UniversalClient, s *Stats, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, every)
		all, err := rdb.HGetAll(rctx, protocol.RateLimitedKey).Result()
		cancel()
		if err == nil {
			refused := make(map[string]int64, len(all))
			for m, v := range all {
				refused[m], _ = strconv.ParseInt(v, 10, 64)
			}
			s.SetCallerRefusals(refused)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Snapshot copies every method's counters, as system.metrics reports them.
func (s *Stats) Snapshot() map[string]api.HandlerMetrics {
	out := make(map[string]api.HandlerMetrics, len(s.methods))
	var refused map[string]int64
	if p := s.refused.Load(); p != nil {
		refused = *p
	}
	for name, m := range s.methods {
		calls := m.Calls.Load()
		sn := api.HandlerMetrics{
			Calls: calls, Errors: m.Errors.Load(), Timeouts: m.Timeouts.Load(),
			RateLimited: m.RateLimited.Load(), CircuitOpen: m.CircuitOpen.Load(), Expired: m.Expired.Load(), Shed: m.Shed.Load(),
			MaxLatencyMs: float64(m.MaxNs.Load()) / 1e6,
		}
		sn.RateLimited += refused[name]
		sn.Errors += refused[name]
		if calls > 0 {
			sn.AvgLatencyMs = float64(m.LatencyNs.Load()) / float64(calls) / 1e6
		}
		out[name] = sn
	}
	return out
}
