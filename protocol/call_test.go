package protocol

import (
	"context"
	"testing"
	"time"
)

func TestPrepareCall(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(2_000_000_000_000))
	defer cancel()
	ev := Event{Type: "task.get", Metadata: Metadata{ID: "e1"}}
	deadline, data, err := PrepareCall(ctx, &ev)
	if err != nil || deadline.UnixMilli() != 2_000_000_000_000 {
		t.Fatalf("PrepareCall: %v %v", deadline, err)
	}
	got, err := DecodeEvent(data)
	if err != nil || got.Metadata.CorrelationID != "e1" || got.Metadata.Deadline != 2_000_000_000_000 {
		t.Fatalf("encoded %s (%v)", data, err)
	}
	ev = Event{Type: "task.get", Metadata: Metadata{ID: "e2", CorrelationID: "c2"}}
	before := time.Now()
	deadline, _, _ = PrepareCall(context.Background(), &ev)
	if ev.Metadata.CorrelationID != "c2" || deadline.Before(before.Add(DefaultCallTimeout)) || deadline.After(time.Now().Add(DefaultCallTimeout)) {
		t.Fatalf("no deadline: correlation %q, deadline %v", ev.Metadata.CorrelationID, deadline)
	}
}

func TestCallStatusError(t *testing.T) {
	if e := CallStatusError("x.y", 1); e != nil {
		t.Errorf("status 1: %v, want nil", e)
	}
	for status, want := range map[int64]Code{-1: CodeMethodNotFound, 0: CodeUnavailable, 7: CodeInternal} {
		if e := CallStatusError("x.y", status); e == nil || e.Code != want {
			t.Errorf("status %d: %v, want code %d", status, e, want)
		}
	}
}

func TestDecodeAnswerAndBLPOPTimeout(t *testing.T) {
	if res, err := DecodeAnswer([]byte(`{"id":"c","result":{"ok":1}}`)); err != nil || string(res) != `{"ok":1}` {
		t.Errorf("result: %s %v", res, err)
	}
	if _, err := DecodeAnswer([]byte(`{"id":"c","error":{"code":-32004,"message":"nope"}}`)); CodeOf(err) != CodeNotFound {
		t.Errorf("error answer: %v", err)
	}
	if _, err := DecodeAnswer([]byte(`{`)); CodeOf(err) != CodeInternal {
		t.Errorf("malformed answer: %v", err)
	}
	for wait, want := range map[time.Duration]string{1500 * time.Millisecond: "1.500", 0: "0.001", -time.Second: "0.001"} {
		if got := BLPOPTimeout(wait); got != want {
			t.Errorf("BLPOPTimeout(%v) = %s, want %s", wait, got, want)
		}
	}
}

func TestCallReplyError(t *testing.T) {
	ev := Event{Type: "hook.pre_tool", Metadata: Metadata{SessionID: "s1"}}
	if err := CallReplyError(ev, []any{int64(1), "1-0"}); err != nil {
		t.Errorf("served: %v", err)
	}
	err := CallReplyError(ev, []any{int64(StatusRateLimited), int64(250), int64(100)})
	if err == nil || err.Code != CodeRateLimited || err.Message != "hook.pre_tool: more than 100 requests/s from session:s1" {
		t.Fatalf("rate limited: %+v", err)
	}
	if d, _ := err.Data.(map[string]any); d["retryAfterMs"] != int64(250) {
		t.Errorf("rate limited data: %+v", err.Data)
	}
	if err := CallReplyError(ev, []any{int64(1)}); err == nil || err.Code != CodeInternal {
		t.Errorf("short reply: %+v", err)
	}
	if err := CallReplyError(ev, []any{int64(-1), ""}); err == nil || err.Code != CodeMethodNotFound {
		t.Errorf("unknown method: %+v", err)
	}
}
