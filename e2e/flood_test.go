package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	rpc "github.com/claudebench/cb/protocol/client"
)

// flooder sends requests open-loop at a fixed rate until ctx is done: one
// goroutine per request (at most maxInFlight), so a slow answer does not
// slow the flood. send does one request and reports whether it was answered.
type flooder struct {
	sent, answered atomic.Int64
}

// maxInFlight bounds a flooder's requests waiting for their answer. The
// Redis flooders' 2 s deadline keeps them under 900 at 450/s; at 256, a
// cbd slowed by a busy machine (the suite runs packages side by side on 2
// cores, with -race) held the flood under the 300/s it must reach.
const maxInFlight = 1024

func flood(ctx context.Context, wg *sync.WaitGroup, rate int, send func() bool) *flooder {
	f := &flooder{}
	sem := make(chan struct{}, maxInFlight)
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		for ctx.Err() == nil {
			due := int64(time.Since(start).Seconds() * float64(rate))
			for f.sent.Load() < due && ctx.Err() == nil {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				f.sent.Add(1)
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if send() {
						f.answered.Add(1)
					}
				}()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return f
}

// TestFloodNeverChangesDecision: three local flooders aimed at 450/s each
// send harmless PreToolUse requests under the victim's session id (one
// over HTTP with the API token, two over Redis through call.lua), far
// over the per-source rate limit (100/s). Every one of the victim's 15
// `rm -rf /` is still denied: a rate limit sheds the audit of a hook
// request, never its rule evaluation, and the shedding is counted.
func TestFloodNeverChangesDecision(t *testing.T) {
	// Aimed above the 300/s the issue measures at, so a starved test
	// process (the suite runs packages side by side on 2 cores) still
	// floods at that rate.
	const floodRate = 450
	e := startHTTPEnv(t)
	const victim = "victim-session"
	harmless := []byte(`{"session_id":"` + victim + `","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls"}}`)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	httpSent := flood(ctx, &wg, floodRate, func() bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.addr+"/hooks/pre_tool", bytes.NewReader(harmless))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := e.hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	var redisSent [2]*flooder
	for i := range redisSent {
		// Its own connections, as many as requests in flight: a shared
		// pool would cap the flood at pool size / answer latency.
		c := rpc.New(e.redis.Client(t, testenv.PoolSize(maxInFlight)), fmt.Sprintf("flooder-%d", i))
		redisSent[i] = flood(ctx, &wg, floodRate, func() bool {
			ev := protocol.Event{Type: "hook.pre_tool", Payload: harmless, Metadata: protocol.Metadata{
				ID: protocol.NewID(), Timestamp: time.Now().UnixMilli(), Source: "flooder", SessionID: victim}}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := c.CallEvent(cctx, ev)
			return err == nil || !strings.Contains(err.Error(), "context canceled")
		})
	}
	defer func() { stop(); wg.Wait() }()

	time.Sleep(300 * time.Millisecond) // the window is full before the victim starts
	rm := []byte(`{"session_id":"` + victim + `","hook_event_name":"PreToolUse","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"rm -rf /"}}`)
	start := time.Now()
	denied := 0
	var failures []string
	for i := range 15 {
		// A long deadline: this test is about rate limits, not about a
		// machine too busy to answer in the default 2 s.
		r := testenv.RunCB(t, bin, e.h, []string{"CB_HOOK_TIMEOUT=10s"}, rm, "hook", "pre_tool")
		if r.Code == 0 && strings.Contains(r.Stdout, `"permissionDecision":"deny"`) {
			denied++
			continue
		}
		failures = append(failures, fmt.Sprintf("call %d: exit %d stdout %q stderr %q", i, r.Code, r.Stdout, r.Stderr))
	}
	elapsed := time.Since(start)
	stop()
	wg.Wait()
	secs := elapsed.Seconds() + 0.3
	var rates []float64
	var report []string
	for i, f := range []*flooder{httpSent, redisSent[0], redisSent[1]} {
		rates = append(rates, float64(f.sent.Load())/secs)
		report = append(report, fmt.Sprintf("flooder %d sent %d (%.0f/s), %d answered", i, f.sent.Load(), rates[i], f.answered.Load()))
	}
	t.Logf("victim: %d/15 denied in %s; %s", denied, elapsed.Round(time.Millisecond), strings.Join(report, "; "))
	if denied != 15 {
		t.Fatalf("%d of 15 rm -rf / denied under the flood:\n%s", denied, strings.Join(failures, "\n"))
	}
	// Each flooder must have run at twice the per-source limit at least:
	// aimed at 450/s, it reaches 300/s and more unless the machine starves
	// the test process itself (seen at 180-330/s with the whole suite on 2
	// cores under -race), which says nothing of cbd.
	for i, r := range rates {
		if r < 200 {
			t.Errorf("flooder %d ran at %.0f/s, want >= 200/s (twice the 100/s limit) for the test to mean anything", i, r)
		}
	}

	// The requests over the limit were counted as shed, in system.metrics
	// and in /metrics.
	var m struct {
		Handlers map[string]struct {
			Calls int64 `json:"calls"`
			Shed  int64 `json:"shed"`
		} `json:"handlers"`
	}
	e.mustCall(t, "system.metrics", map[string]any{}, &m)
	if m.Handlers["hook.pre_tool"].Shed == 0 {
		t.Errorf("system.metrics hook.pre_tool: %+v, want shed > 0", m.Handlers["hook.pre_tool"])
	}
	status, body := e.send(t, http.MethodGet, "/metrics", nil, map[string]string{"Authorization": "Bearer " + e.token})
	if status != http.StatusOK || !strings.Contains(string(body), `cb_rejections_total{method="hook.pre_tool",reason="shed"}`) {
		t.Errorf("/metrics: %d, no shed counter for hook.pre_tool", status)
	}
}
