package mcpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/mcpserver"
	"github.com/claudebench/cb/internal/mcptest"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// readJSON reads uri with the SDK client and decodes its one JSON content.
func readJSON(t *testing.T, cs *mcp.ClientSession, uri string) map[string]any {
	t.Helper()
	res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri})
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	if len(res.Contents) != 1 || res.Contents[0].URI != uri || res.Contents[0].MIMEType != "application/json" {
		t.Fatalf("read %s: contents %+v", uri, res.Contents)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Contents[0].Text), &m); err != nil {
		t.Fatalf("read %s: %v\n%s", uri, err, res.Contents[0].Text)
	}
	return m
}

// rpcCode is the JSON-RPC error code of err (0 if it carries none).
func rpcCode(err error) int64 {
	var e *jsonrpc.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestResources(t *testing.T) {
	cs := connect(t, newServer(t))
	ctx := context.Background()
	caps := cs.InitializeResult().Capabilities
	if caps.Resources == nil || caps.Prompts == nil {
		t.Fatalf("capabilities %+v, want resources and prompts", caps)
	}

	list, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 || list.Resources[0].URI != "cb://queue" || list.Resources[0].MIMEType != "application/json" {
		t.Errorf("resources %+v", list.Resources)
	}
	tmpl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, rt := range tmpl.ResourceTemplates {
		uris = append(uris, rt.URITemplate)
	}
	if !slices.Equal(uris, []string{"cb://sessions/{id}", "cb://tasks/{id}"}) {
		t.Errorf("templates %v", uris)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "task_create", Arguments: map[string]any{"text": "read me as a resource", "priority": 90}})
	if err != nil || res.IsError {
		t.Fatalf("task_create: %v %v", err, mcptest.Texts(res))
	}
	id, _ := mcptest.Structured(t, res)["id"].(string)

	q := readJSON(t, cs, "cb://queue")
	next, _ := q["next"].([]any)
	if q["queueDepth"] != float64(1) || len(next) != 1 || next[0].(map[string]any)["id"] != id {
		t.Errorf("cb://queue = %v", q)
	}
	tk := readJSON(t, cs, "cb://tasks/"+id)
	if tk["id"] != id || tk["text"] != "read me as a resource" || tk["priority"] != float64(90) {
		t.Errorf("cb://tasks/%s = %v", id, tk)
	}

	// Unknown URIs, tasks and sessions: MCP's resource-not-found, whether
	// or not the URI matches a template.
	for _, uri := range []string{"cb://tasks/t-424242", "cb://sessions/nobody", "cb://elsewhere", "https://example.com/"} {
		_, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if rpcCode(err) != -32002 || !strings.Contains(err.Error(), uri) {
			t.Errorf("read %s: %v (code %d), want -32002 naming the URI", uri, err, rpcCode(err))
		}
	}
}

// toolToken matches what looks like a tool name in a prompt's text.
var toolToken = regexp.MustCompile(`\b(?:task|system|hooks|hook|audit)_[a-z_]+\b`)

func TestPrompts(t *testing.T) {
	cs := connect(t, newServer(t))
	ctx := context.Background()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var toolNames []string
	for _, tl := range tools.Tools {
		toolNames = append(toolNames, tl.Name)
	}

	list, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]map[string]string{
		"take_next_task": {"workerId": "w-1"},
		"hand_over_task": {"taskId": "t-1", "notes": "half done; see the branch", "to": "w-2"},
	}
	var names []string
	for _, p := range list.Prompts {
		names = append(names, p.Name)
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: p.Name, Arguments: args[p.Name]})
		if err != nil {
			t.Fatalf("get %s: %v", p.Name, err)
		}
		if len(res.Messages) != 1 || res.Messages[0].Role != "user" {
			t.Fatalf("get %s: messages %+v", p.Name, res.Messages)
		}
		text := res.Messages[0].Content.(*mcp.TextContent).Text
		// Every tool the prompt names is one this server publishes.
		named := toolToken.FindAllString(text, -1)
		if len(named) < 3 {
			t.Errorf("%s names tools %v", p.Name, named)
		}
		for _, n := range named {
			if !slices.Contains(toolNames, n) {
				t.Errorf("%s names %s, which the server does not publish (%v)", p.Name, n, toolNames)
			}
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"hand_over_task", "take_next_task"}) {
		t.Errorf("prompts %v", names)
	}
	for _, p := range list.Prompts {
		if p.Name != "hand_over_task" {
			continue
		}
		var required []string
		for _, a := range p.Arguments {
			if a.Required {
				required = append(required, a.Name)
			}
		}
		if !slices.Equal(required, []string{"taskId", "notes"}) {
			t.Errorf("hand_over_task required arguments %v", required)
		}
	}

	_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "hand_over_task", Arguments: map[string]string{"taskId": "t-1"}})
	if rpcCode(err) != int64(protocol.CodeInvalidParams) || !strings.Contains(err.Error(), "notes is required") {
		t.Errorf("hand_over_task without notes: %v", err)
	}
}

// TestQueueSubscription: a client subscribed to cb://queue is told when a
// task changes (on any instance: the watch follows the task event
// streams in Redis), and no longer after it unsubscribes; only cb://queue
// can be subscribed to.
func TestQueueSubscription(t *testing.T) {
	rdb := testenv.NewRedis(t).Client(t)
	inv := apptest.Build(t, rdb, nil, nil).Invoker
	watch := mcpserver.NewQueueWatch(rdb, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); watch.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	srv, err := mcpserver.NewWithOptions(inv, "v-test", nil, mcpserver.Options{Queue: watch})
	if err != nil {
		t.Fatal(err)
	}
	updated := make(chan string, 100)
	cs := subscriber(t, srv, updated)
	if caps := cs.InitializeResult().Capabilities; caps.Resources == nil || !caps.Resources.Subscribe {
		t.Fatalf("capabilities %+v, want resources.subscribe", caps.Resources)
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "cb://tasks/t-1"}); rpcCode(err) != int64(protocol.CodeInvalidParams) {
		t.Errorf("subscribe cb://tasks/t-1: %v, want -32602", err)
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "cb://queue"}); err != nil {
		t.Fatal(err)
	}
	create := func(text string) {
		t.Helper()
		if _, err := mcpserver.Caller(inv)(ctx, "task.create", map[string]any{"text": text}); err != nil {
			t.Fatal(err)
		}
	}
	// The watch starts following when the subscription arrives; a task
	// made before it is positioned goes unnoticed, so make them until one
	// is noticed.
	deadline := time.After(10 * time.Second)
	for notified := false; !notified; {
		create("notice me")
		select {
		case uri := <-updated:
			if uri != "cb://queue" {
				t.Fatalf("updated %q", uri)
			}
			notified = true
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notifications/resources/updated for cb://queue within 10s of task changes")
		}
	}

	if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: "cb://queue"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * mcpserver.QueueUpdateInterval)
	for len(updated) > 0 {
		<-updated
	}
	create("unseen")
	select {
	case uri := <-updated:
		t.Errorf("updated %q after unsubscribing", uri)
	case <-time.After(time.Second + 2*mcpserver.QueueUpdateInterval):
	}
	waitFollowing(t, watch, false, "after the last unsubscribe")

	// A session that goes away subscribed stops counting at the next
	// task event.
	gone := subscriber(t, srv, make(chan string, 100))
	if err := gone.Subscribe(ctx, &mcp.SubscribeParams{URI: "cb://queue"}); err != nil {
		t.Fatal(err)
	}
	waitFollowing(t, watch, true, "after a subscribe")
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	// The server learns of the close behind it: make task events until
	// the watch stops.
	for deadline := time.Now().Add(5 * time.Second); watch.Following(); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still following 5s after the only subscriber left")
		}
		create("after the subscriber left")
	}
}

// subscriber connects a client to srv that passes the URIs of
// notifications/resources/updated to updated.
func subscriber(t *testing.T, srv *mcp.Server, updated chan<- string) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) { updated <- req.Params.URI },
		// The revision Claude Code and the TypeScript SDK speak, with
		// resources/subscribe (newer drafts subscribe otherwise).
	}).Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// waitFollowing waits up to 5 s for the watch to be following or not.
func waitFollowing(t *testing.T, w *mcpserver.QueueWatch, want bool, when string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); w.Following() != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: following = %v, want %v", when, !want, want)
		}
	}
}
