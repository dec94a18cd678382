// Package handlertest runs a method handler's body directly in tests, with
// its params and its answer checked against the method's schemas.
package handlertest

import (
	"encoding/json"
	"testing"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// Call runs the handler reg holds for ev.Type with ev.Payload as params and
// returns its answer, encoded, or the handler's error. Params that fail the
// input schema, an unknown method and an answer that fails the output schema
// fail the test.
func Call(t testing.TB, reg *registry.Registry, ev protocol.Event) (json.RawMessage, error) {
	t.Helper()
	method := ev.Type
	val := testenv.Validator(t)
	if err := val.Input(method, ev.Payload); err != nil {
		t.Fatalf("%s params %s fail their schema: %v", method, ev.Payload, err)
	}
	h, ok := reg.Lookup(method)
	if !ok {
		t.Fatalf("no handler %s", method)
	}
	res, err := h.Fn(t.Context(), &registry.Request{Event: ev, Params: ev.Payload})
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("%s: encode: %v", method, err)
	}
	if err := val.Output(method, data); err != nil {
		t.Fatalf("%s answer %s fails its output schema: %v", method, data, err)
	}
	return data, nil
}
