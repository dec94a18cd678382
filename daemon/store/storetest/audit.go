package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol/api"
)

// newAudit returns a valid audit record with the given id at at(ms).
func newAudit(id string, ms int) store.AuditRecord {
	return store.AuditRecord{
		ID:            id,
		Time:          at(ms),
		SessionID:     "s-1",
		Event:         "hook.pre_tool",
		Tool:          "Bash",
		Decision:      "allow",
		RuleIDs:       []string{"r-1"},
		Reason:        "ok",
		LatencyMicros: 120,
		InstanceID:    "cbd-1",
	}
}

// checkAudit fails unless got equals want, times to the millisecond.
func checkAudit(t *testing.T, got, want store.AuditRecord) {
	t.Helper()
	checkTime(t, want.ID+" time", got.Time, want.Time)
	got.Time, want.Time = api.Time{}, api.Time{}
	if len(want.RuleIDs) == 0 {
		want.RuleIDs = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit record mismatch:\n got %+v\nwant %+v", got, want)
	}
}

// auditIDs returns the ids of records, in order.
func auditIDs(rs []store.AuditRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func mustAudit(t *testing.T, s store.Store, r store.AuditRecord) {
	t.Helper()
	if err := s.AuditInsert(t.Context(), r); err != nil {
		t.Fatalf("AuditInsert(%s): %v", r.ID, err)
	}
}

func testAuditRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	full := newAudit("e-1", 0)
	full.RuleIDs = []string{"no-rm-rf", "ask-on-push", "with 'quote' and \"dq\", comma {brace}"}
	full.Reason = "matched ✓ rules"
	full.LatencyMicros = 1_234_567
	empty := store.AuditRecord{ID: "e-2", Time: at(1)} // everything else zero
	noRules := newAudit("e-3", 2)
	noRules.RuleIDs = []string{}
	for _, r := range []store.AuditRecord{full, empty, noRules} {
		mustAudit(t, s, r)
	}
	got, err := auditRecords(ctx, s, store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"e-3", "e-2", "e-1"}; !slices.Equal(auditIDs(got), want) {
		t.Fatalf("AuditList = %v, want %v (newest first)", auditIDs(got), want)
	}
	checkAudit(t, got[2], full)
	checkAudit(t, got[1], empty)
	checkAudit(t, got[0], noRules)
	if got[0].RuleIDs != nil || got[1].RuleIDs != nil {
		t.Errorf("empty RuleIDs read back as %#v / %#v, want nil", got[0].RuleIDs, got[1].RuleIDs)
	}
}

func testAuditIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := newAudit("e-1", 0)
	mustAudit(t, s, first)
	mustAudit(t, s, first)
	second := newAudit("e-1", 50)
	second.Decision = "deny"
	mustAudit(t, s, second) // same id: a no-op, not an error
	got, err := auditRecords(ctx, s, store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("AuditList after inserting one id three times = %d records, want 1", len(got))
	}
	checkAudit(t, got[0], first)
}

func testAuditListFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	recs := []store.AuditRecord{
		{ID: "e-1", SessionID: "s-a", Event: "hook.pre_tool", Tool: "Bash", Decision: "allow"},
		{ID: "e-2", SessionID: "s-a", Event: "hook.pre_tool", Tool: "Edit", Decision: "deny"},
		{ID: "e-3", SessionID: "s-b", Event: "hook.post_tool", Tool: "Bash", Decision: "none"},
		{ID: "e-4", SessionID: "s-b", Event: "hook.pre_tool", Tool: "Bash", Decision: "deny"},
		{ID: "e-5", SessionID: "s-a", Event: "hook.user_prompt", Decision: "context"},
	}
	for i, r := range recs {
		r.Time = at(i * 1000)
		mustAudit(t, s, r)
	}
	cases := []struct {
		p    store.AuditListParams
		want []string
	}{
		{store.AuditListParams{}, []string{"e-5", "e-4", "e-3", "e-2", "e-1"}},
		{store.AuditListParams{SessionID: "s-a"}, []string{"e-5", "e-2", "e-1"}},
		{store.AuditListParams{Decision: "deny"}, []string{"e-4", "e-2"}},
		{store.AuditListParams{Event: "hook.pre_tool"}, []string{"e-4", "e-2", "e-1"}},
		{store.AuditListParams{Tool: "Bash"}, []string{"e-4", "e-3", "e-1"}},
		{store.AuditListParams{Tool: "Bash", Decision: "deny", SessionID: "s-b", Event: "hook.pre_tool"}, []string{"e-4"}},
		{store.AuditListParams{Since: at(2000).Time}, []string{"e-5", "e-4", "e-3"}},
		{store.AuditListParams{Since: at(2000).Time.Add(time.Microsecond)}, []string{"e-5", "e-4"}},
		{store.AuditListParams{Since: at(2000).Time.UTC().Add(-time.Millisecond)}, []string{"e-5", "e-4", "e-3"}},
		{store.AuditListParams{Since: at(1000).Time, SessionID: "s-a"}, []string{"e-5", "e-2"}},
		{store.AuditListParams{Since: at(10_000).Time}, nil},
		{store.AuditListParams{Limit: 2}, []string{"e-5", "e-4"}},
		{store.AuditListParams{Decision: "allow' OR '1'='1"}, nil},
	}
	for _, c := range cases {
		got, err := auditRecords(ctx, s, c.p)
		if err != nil {
			t.Fatalf("AuditList(%+v): %v", c.p, err)
		}
		if !slices.Equal(auditIDs(got), c.want) {
			t.Errorf("AuditList(%+v) = %v, want %v", c.p, auditIDs(got), c.want)
		}
	}
}

func testAuditListLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	n := store.DefaultAuditListLimit + 20
	for i := range n {
		mustAudit(t, s, newAudit(fmt.Sprintf("e-%03d", i), i))
	}
	got, err := auditRecords(ctx, s, store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.DefaultAuditListLimit {
		t.Errorf("AuditList default limit returned %d, want %d", len(got), store.DefaultAuditListLimit)
	}
	if len(got) > 0 && got[0].ID != fmt.Sprintf("e-%03d", n-1) {
		t.Errorf("AuditList first = %s, want the newest", got[0].ID)
	}
	got, err = auditRecords(ctx, s, store.AuditListParams{Limit: store.MaxAuditListLimit * 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Errorf("AuditList large limit returned %d, want %d", len(got), n)
	}
	if _, err := auditRecords(ctx, s, store.AuditListParams{Limit: -1}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("AuditList(Limit -1) error = %v, want ErrInvalidArgument", err)
	}
}

func testAuditValidation(t *testing.T, s store.Store) {
	if err := s.AuditInsert(t.Context(), store.AuditRecord{Time: at(0), Decision: "allow"}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("AuditInsert(empty id) error = %v, want ErrInvalidArgument", err)
	}
}

// testAuditInsertMany: one call writes a whole batch; an id already there
// keeps its first record, an invalid record is left out with an
// ErrInvalidArgument error, and the rest are written.
func testAuditInsertMany(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := newAudit("e-0", 0)
	mustAudit(t, s, first)
	var batch []store.AuditRecord
	for i := range 50 {
		batch = append(batch, newAudit(fmt.Sprintf("e-%d", i), 10+i))
	}
	batch[0].Decision = "deny"                                                // same id as first: ignored
	batch = append(batch, store.AuditRecord{Time: at(99), Decision: "allow"}) // no id
	if err := s.AuditInsert(ctx, batch...); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("AuditInsert(50 records and an invalid one) error = %v, want ErrInvalidArgument", err)
	}
	got, err := auditRecords(ctx, s, store.AuditListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("AuditList = %d records, want 50", len(got))
	}
	for _, r := range got {
		if r.ID == "e-0" {
			checkAudit(t, r, first)
		}
	}
	if err := s.AuditInsert(ctx); err != nil {
		t.Fatalf("AuditInsert() with no records: %v", err)
	}
}

// auditRecords is the records of one AuditList page.
func auditRecords(ctx context.Context, s store.Store, p store.AuditListParams) ([]store.AuditRecord, error) {
	page, err := s.AuditList(ctx, p)
	return page.Records, err
}
