package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/handlers/handlertest"
	"github.com/claudebench/cb/daemon/instance"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/schemas"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

// fixture is the task handlers over a flushed Redis and a fresh SQLite
// store.
type fixture struct {
	t   *testing.T
	rdb redis.UniversalClient
	st  store.Store
	reg *registry.Registry
	n   int // requests so far, for event ids
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWrapped(t, nil)
}

// newFixtureWrapped is newFixture with the service's store wrapped by wrap
// (nil: not wrapped); f.st stays the real store.
func newFixtureWrapped(t *testing.T, wrap func(store.Store) store.Store) *fixture {
	t.Helper()
	rdb := testenv.SharedRedis(t).Flushed(t)
	st, err := store.Open(t.Context(), "", filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	persist := tasks.NewPersister(st, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { persist.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	var svcStore store.Store = st
	if wrap != nil {
		svcStore = wrap(st)
	}
	svc := tasks.New(rdb, svcStore, persist, tasks.Config{Source: "cbd-test"}, log)
	reg := registry.New()
	reg.Register(Handlers(svc)...)
	return &fixture{t: t, rdb: rdb, st: st, reg: reg}
}

// call runs a handler with params checked against the input schema and
// returns its answer, encoded, after checking it against the output schema.
func (f *fixture) call(method, params string) []byte {
	f.t.Helper()
	f.n++
	data, err := handlertest.Call(f.t, f.reg, protocol.Event{Type: method, Payload: json.RawMessage(params),
		Metadata: protocol.Metadata{ID: fmt.Sprintf("e-test-%d", f.n)}})
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, params, err)
	}
	return data
}

// requiredTaskFields are the properties the schema requires of a task.
func requiredTaskFields(t *testing.T) []string {
	raw, err := schemas.Common()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs struct {
			Task struct {
				Required []string `json:"required"`
			} `json:"task"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Defs.Task.Required) == 0 {
		t.Fatal("common.json: no required task fields")
	}
	return doc.Defs.Task.Required
}

// checkAPITask fails unless data, a task as a task script wrote it, is an
// api.Task with nothing more and every required field.
func checkAPITask(t *testing.T, what string, data []byte) api.Task {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var task api.Task
	if err := dec.Decode(&task); err != nil {
		t.Fatalf("%s: %s does not decode into api.Task: %v", what, data, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range requiredTaskFields(t) {
		if _, ok := fields[k]; !ok {
			t.Errorf("%s: %s lacks required %q", what, data, k)
		}
	}
	// Re-encoded, it is the same document (the Go type loses nothing).
	again, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(data, &a)
	_ = json.Unmarshal(again, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("%s: %s re-encodes as %s", what, data, again)
	}
	return task
}

// TestScriptTaskJSON checks the task JSON the Lua scripts build (and the
// service hands back without decoding it) against api.Task.
func TestScriptTaskJSON(t *testing.T) {
	f := newFixture(t)
	created := checkAPITask(t, "task.create", f.call("task.create", `{"text":"write the docs","priority":60,"metadata":{"k":"v"}}`))
	id := created.ID
	checkAPITask(t, "task.update", f.call("task.update", `{"id":"`+id+`","updates":{"text":"write more docs","priority":70.0}}`))

	var claimed struct{ Tasks []json.RawMessage }
	if err := json.Unmarshal(f.call("task.claim", `{"workerId":"w-1","leaseMs":60000}`), &claimed); err != nil || len(claimed.Tasks) != 1 {
		t.Fatalf("task.claim: %v, %d tasks", err, len(claimed.Tasks))
	}
	task := checkAPITask(t, "task.claim", claimed.Tasks[0])
	if task.LeaseExpiresAt == nil || task.AssignedTo != "w-1" || task.Priority != 70 {
		t.Errorf("claimed %+v", task)
	}
	checkAPITask(t, "task.renew", f.call("task.renew", `{"id":"`+id+`","workerId":"w-1"}`))
	done := checkAPITask(t, "task.complete", f.call("task.complete", `{"id":"`+id+`","workerId":"w-1","result":{"pages":3}}`))
	if done.Status != api.StatusCompleted || string(done.Result) != `{"pages":3}` {
		t.Errorf("completed %+v", done)
	}

	id2 := checkAPITask(t, "task.create", f.call("task.create", `{"text":"second"}`)).ID
	if err := instance.Write(t.Context(), f.rdb, instance.Record{ID: "w-2", Roles: []string{"worker"}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	checkAPITask(t, "task.assign", f.call("task.assign", `{"taskId":"`+id2+`","instanceId":"w-2"}`))
	checkAPITask(t, "task.unassign", f.call("task.unassign", `{"taskId":"`+id2+`"}`))
	f.call("task.claim", `{"workerId":"w-2"}`)
	failed := checkAPITask(t, "task.fail", f.call("task.fail", `{"id":"`+id2+`","error":"no luck"}`))
	if failed.Status != api.StatusFailed || failed.Error != "no luck" {
		t.Errorf("failed %+v", failed)
	}
}

// timestamps returns a task's createdAt and updatedAt as the wire has them.
func timestamps(t *testing.T, data []byte) [2]string {
	t.Helper()
	var v struct{ CreatedAt, UpdatedAt string }
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return [2]string{v.CreatedAt, v.UpdatedAt}
}

// listed returns the timestamps of task id in task.list.
func (f *fixture) listed(id string) [2]string {
	var res struct{ Tasks []json.RawMessage }
	if err := json.Unmarshal(f.call("task.list", `{"limit":1000}`), &res); err != nil {
		f.t.Fatal(err)
	}
	for _, raw := range res.Tasks {
		if strings.Contains(string(raw), `"id":"`+id+`"`) {
			return timestamps(f.t, raw)
		}
	}
	f.t.Fatalf("task.list lacks %s", id)
	return [2]string{}
}

// TestTimestampsAgree checks that task.create, task.get and task.list show
// a task's times in one form (RFC 3339, milliseconds, UTC), also when the
// milliseconds end in zeros that another form would drop.
func TestTimestampsAgree(t *testing.T) {
	f := newFixture(t)
	// A time whose milliseconds end in 0 ("…45.900Z", not "…45.9Z").
	var id string
	var want [2]string
	for range 500 {
		data := f.call("task.create", `{"text":"tick"}`)
		want = timestamps(t, data)
		if strings.HasSuffix(want[0], "0Z") {
			id = checkAPITask(t, "task.create", data).ID
			break
		}
	}
	if id == "" {
		t.Fatal("no task created at a millisecond ending in 0")
	}
	if got := timestamps(t, f.call("task.get", `{"id":"`+id+`"}`)); got != want {
		t.Errorf("task.create said %q, task.get %q", want, got)
	}
	if got := f.listed(id); got != want {
		t.Errorf("task.create said %q, task.list %q", want, got)
	}

	// A whole second, read from Redis (task.get) and from the store once
	// Redis let the task go (task.get, task.list).
	const whole = "2026-12-05T00:45:45.000Z"
	if err := f.rdb.HSet(t.Context(), protocol.TaskKey(id), "createdAt", whole, "updatedAt", whole).Err(); err != nil {
		t.Fatal(err)
	}
	if got := timestamps(t, f.call("task.get", `{"id":"`+id+`"}`)); got != [2]string{whole, whole} {
		t.Errorf("task.get from Redis: %q, want %s", got, whole)
	}
	st, err := f.st.TaskGet(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`"`+whole+`"`), &st.CreatedAt); err != nil {
		t.Fatal(err)
	}
	st.UpdatedAt = st.CreatedAt
	st.Version++
	if _, err := f.st.TaskUpsert(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Del(t.Context(), protocol.TaskKey(id)).Err(); err != nil {
		t.Fatal(err)
	}
	if got := timestamps(t, f.call("task.get", `{"id":"`+id+`"}`)); got != [2]string{whole, whole} {
		t.Errorf("task.get from the store: %q, want %s", got, whole)
	}
	if got := f.listed(id); got != [2]string{whole, whole} {
		t.Errorf("task.list: %q, want %s", got, whole)
	}
}

// listSpy is a store whose TaskList records its params and answers with a
// cursor and an estimated count, as the store does for a deep, filtered
// list.
type listSpy struct {
	store.Store
	got []store.TaskListParams
}

func (s *listSpy) TaskList(ctx context.Context, p store.TaskListParams) (store.TaskListResult, error) {
	s.got = append(s.got, p)
	return store.TaskListResult{TotalCount: store.MaxExactCount, TotalEstimated: true, HasMore: true, NextCursor: "c-next"}, nil
}

// TestListPassesThrough checks that task.list hands its params to the store
// as given, leaving the order's default to the store (desc, but asc for
// queue), and returns the store's cursor and estimate.
func TestListPassesThrough(t *testing.T) {
	spy := &listSpy{}
	f := newFixtureWrapped(t, func(st store.Store) store.Store { spy.Store = st; return spy })

	var res api.TaskListResult
	if err := json.Unmarshal(f.call("task.list", `{"status":"pending","orderBy":"queue","limit":100}`), &res); err != nil {
		t.Fatal(err)
	}
	if want := (store.TaskListParams{Status: "pending", OrderBy: "queue", Limit: 100}); spy.got[0] != want {
		t.Errorf("store got %+v, want %+v (no order: the store's default)", spy.got[0], want)
	}
	if !res.TotalEstimated || res.NextCursor != "c-next" || !res.HasMore || res.TotalCount != store.MaxExactCount || res.Tasks == nil {
		t.Errorf("task.list answered %+v, want the store's cursor and estimate", res)
	}

	f.call("task.list", `{"session":"s-1","updatedBefore":"2026-01-02T03:04:05Z","after":"c-1","order":"asc","assignedTo":"w-1"}`)
	want := store.TaskListParams{Session: "s-1", UpdatedBefore: "2026-01-02T03:04:05Z", After: "c-1", Order: "asc", AssignedTo: "w-1"}
	if spy.got[1] != want {
		t.Errorf("store got %+v, want %+v", spy.got[1], want)
	}
}
