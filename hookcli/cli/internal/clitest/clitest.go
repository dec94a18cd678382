// Package clitest runs cb-cli commands in tests: a Factory on buffers and
// a fake Caller answering from a table, so that most command tests need
// neither Redis nor cbd.
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/spf13/cobra"
)

// Handler answers one method's params; ctx is the caller's.
type Handler func(ctx context.Context, params json.RawMessage) (json.RawMessage, error)

// Answer is a Handler that always returns the JSON s.
func Answer(s string) Handler {
	return func(context.Context, json.RawMessage) (json.RawMessage, error) { return json.RawMessage(s), nil }
}

// Call is one request the fake received.
type Call struct {
	Method string
	Params map[string]any
}

// FakeCaller answers methods from a table, like cbd would: a method not in
// the table is method_not_found. It records every call.
type FakeCaller struct {
	mu      sync.Mutex
	methods map[string]Handler
	calls   []Call
	// Down, when set, is returned for every call (cbd unreachable).
	Down error
}

// NewFakeCaller serves methods.
func NewFakeCaller(methods map[string]Handler) *FakeCaller {
	return &FakeCaller{methods: methods}
}

// Handle adds or replaces the handler of method.
func (f *FakeCaller) Handle(method string, h Handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.methods == nil {
		f.methods = map[string]Handler{}
	}
	f.methods[method] = h
}

// Call answers one request.
func (f *FakeCaller) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	if params == nil {
		raw = []byte("{}")
	}
	var p map[string]any
	_ = json.Unmarshal(raw, &p)
	f.mu.Lock()
	f.calls = append(f.calls, Call{method, p})
	h, ok := f.methods[method]
	down := f.Down
	f.mu.Unlock()
	if down != nil {
		return nil, down
	}
	if err := ctx.Err(); err != nil {
		return nil, &protocol.Error{Code: protocol.CodeTimeout, Message: err.Error()}
	}
	if !ok {
		return nil, protocol.Errorf(protocol.CodeMethodNotFound, "unknown method %s", method)
	}
	res, err := h(ctx, raw)
	if err != nil {
		return nil, protocol.AsError(err)
	}
	return res, nil
}

// Calls returns the calls so far.
func (f *FakeCaller) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Streams are a test Factory's buffers.
type Streams struct {
	In, Out, Err *bytes.Buffer
}

// NewFactory is a Factory on buffers (not a terminal, no colors), calling
// caller; settings come from the environment (tests set CB_CONFIG). Its
// Client fails: a command that needs Redis is tested with a real one.
func NewFactory(caller cmdutil.Caller) (*cmdutil.Factory, *iostreams.IOStreams, Streams) {
	ios, in, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{
		IOStreams: ios,
		Settings:  func() (*bridge.Settings, error) { return bridge.LoadSettings(cmdutil.ParseYAML) },
		Client: func() (*client.Client, error) {
			return nil, &protocol.Error{Code: protocol.CodeUnavailable, Message: "no Redis in this test"}
		},
		Caller: func() (cmdutil.Caller, error) { return caller, nil },
		Flags:  &cmdutil.GlobalFlags{},
	}
	return f, ios, Streams{in, out, errOut}
}

// Run runs cmd under a bare root carrying the global flags, with args
// (starting with cmd's name), as cb-cli would: it returns the exit status.
func Run(f *cmdutil.Factory, cmd *cobra.Command, args ...string) int {
	root := &cobra.Command{Use: "cb", SilenceErrors: true, SilenceUsage: true}
	cmdutil.AddGlobalFlags(root, f.Flags)
	root.AddCommand(cmd)
	return cmdutil.Execute(context.Background(), root, args, f.IOStreams)
}

// JSONEq reports whether got, marshalled, is the same JSON as want.
func JSONEq(t *testing.T, got any, want string) {
	t.Helper()
	g, _ := json.Marshal(got)
	var a, b any
	_ = json.Unmarshal(g, &a)
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if !bytes.Equal(ga, gb) {
		t.Errorf("params = %s, want %s", ga, gb)
	}
}
