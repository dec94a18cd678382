package tasks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/claudebench/cb/daemon/handlers/handlertest"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// callErr runs a handler with schema-valid params and returns its error.
func (f *fixture) callErr(method, params string) error {
	f.t.Helper()
	f.n++
	_, err := handlertest.Call(f.t, f.reg, protocol.Event{Type: method, Payload: json.RawMessage(params),
		Metadata: protocol.Metadata{ID: fmt.Sprintf("e-test-%d", f.n)}})
	return err
}

// TestAttachMethods runs task.attach and task.attachments, and task.claim
// and task.get with attachments, each answer checked against its output
// schema (handlertest.Call).
func TestAttachMethods(t *testing.T) {
	f := newFixture(t)
	id := checkAPITask(t, "task.create", f.call("task.create", `{"text":"hand over"}`)).ID
	var a api.Attachment
	if err := json.Unmarshal(f.call("task.attach", `{"taskId":"`+id+`","key":"notes","type":"note","value":"half done","createdBy":"s-1"}`), &a); err != nil {
		t.Fatal(err)
	}
	if a.TaskID != id || a.Key != "notes" || string(a.Value) != `"half done"` || a.CreatedBy != "s-1" || a.Size != 11 {
		t.Errorf("task.attach answered %+v", a)
	}
	f.call("task.attach", `{"taskId":"`+id+`","key":"paths","type":"files","value":["a.go","b.go"]}`)

	var list api.TaskAttachmentsResult
	if err := json.Unmarshal(f.call("task.attachments", `{"taskId":"`+id+`"}`), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Attachments) != 2 || list.Attachments[0].Key != "notes" || list.Attachments[1].Key != "paths" {
		t.Errorf("task.attachments answered %+v", list)
	}
	if got := string(f.call("task.attachments", `{"taskId":"`+id+`","key":"none"}`)); got != `{"taskId":"`+id+`","attachments":[]}` {
		t.Errorf("task.attachments of a key it lacks: %s", got)
	}
	var claimed api.TaskClaimResult
	if err := json.Unmarshal(f.call("task.claim", `{"workerId":"w-1"}`), &claimed); err != nil || len(claimed.Tasks) != 1 {
		t.Fatalf("task.claim: %+v %v", claimed, err)
	}
	if n := len(claimed.Tasks[0].Attachments); n != 2 {
		t.Errorf("task.claim answered the task with %d attachments, want 2", n)
	}
	got := checkAPITask(t, "task.get", f.call("task.get", `{"id":"`+id+`"}`))
	if len(got.Attachments) != 2 {
		t.Errorf("task.get answered %d attachments, want 2", len(got.Attachments))
	}
	f.call("task.complete", `{"id":"`+id+`","result":{"ok":true}}`)
	if got := string(f.call("task.attachments", `{"taskId":"`+id+`","key":"result"}`)); !json.Valid([]byte(got)) ||
		!contains(got, `"type":"result"`, `"value":{"ok":true}`) {
		t.Errorf("the result attachment: %s", got)
	}

	for params, code := range map[string]protocol.Code{
		`{"taskId":"` + id + `","key":"k","type":"links","value":["not a url"]}`: protocol.CodeInvalidParams,
		`{"taskId":"` + id + `","key":"k","type":"note","value":""}`:             protocol.CodeInvalidParams,
		`{"taskId":"t-404","key":"k","type":"note","value":"x"}`:                 protocol.CodeNotFound,
	} {
		if err := f.callErr("task.attach", params); protocol.CodeOf(err) != code {
			t.Errorf("task.attach %s: %v, want %d", params, err, code)
		}
	}
	if err := f.callErr("task.attachments", `{"taskId":"t-404"}`); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Errorf("task.attachments of an unknown task: %v, want -32004", err)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
