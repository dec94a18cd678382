package model

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/protocol/api"
)

// TimePrecision is the precision both backends store times with.
// PostgreSQL timestamptz holds microseconds; SQLite stores the same integer.
const TimePrecision = time.Microsecond

// NormalizeTime converts t to UTC and truncates it to TimePrecision, which is
// exactly what a backend stores and returns.
func NormalizeTime(t time.Time) time.Time {
	return t.UTC().Truncate(TimePrecision)
}

// ValidStatus reports whether s is one of Statuses.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// NormalizeTask validates t and returns the form a backend stores: times in
// UTC at TimePrecision, a JSON null Metadata or Result turned into nil.
// Errors wrap ErrInvalidArgument.
func NormalizeTask(t Task) (Task, error) {
	if t.ID == "" {
		return Task{}, fmt.Errorf("%w: task id is empty", ErrInvalidArgument)
	}
	if !ValidStatus(t.Status) {
		return Task{}, fmt.Errorf("%w: task %s: status %q is not one of %s",
			ErrInvalidArgument, t.ID, t.Status, strings.Join(Statuses, ", "))
	}
	var err error
	if t.Metadata, err = normalizeJSON(t.Metadata, true); err != nil {
		return Task{}, fmt.Errorf("%w: task %s: metadata: %v", ErrInvalidArgument, t.ID, err)
	}
	if t.Result, err = normalizeJSON(t.Result, false); err != nil {
		return Task{}, fmt.Errorf("%w: task %s: result: %v", ErrInvalidArgument, t.ID, err)
	}
	t.CreatedAt.Time = NormalizeTime(t.CreatedAt.Time)
	t.UpdatedAt.Time = NormalizeTime(t.UpdatedAt.Time)
	return t, nil
}

// normalizeJSON returns nil for an absent value or a JSON null, and
// otherwise checks raw is valid JSON (an object when wantObject).
func normalizeJSON(raw json.RawMessage, wantObject bool) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	if !json.Valid(trimmed) {
		return nil, fmt.Errorf("invalid JSON")
	}
	if wantObject && trimmed[0] != '{' {
		return nil, fmt.Errorf("want a JSON object, got %.20s", trimmed)
	}
	return trimmed, nil
}

// NormalizeAudit validates r and returns the form a backend stores: Time in
// UTC at TimePrecision and an empty RuleIDs as nil. Errors wrap
// ErrInvalidArgument.
func NormalizeAudit(r AuditRecord) (AuditRecord, error) {
	if r.ID == "" {
		return AuditRecord{}, fmt.Errorf("%w: audit record id is empty", ErrInvalidArgument)
	}
	r.Time.Time = NormalizeTime(r.Time.Time)
	if len(r.RuleIDs) == 0 {
		r.RuleIDs = nil
	}
	return r, nil
}

// NormalizeAudits normalizes each record of a batch: it returns the valid
// ones, and an error (wrapping ErrInvalidArgument) naming the others.
func NormalizeAudits(rs []AuditRecord) ([]AuditRecord, error) {
	valid := make([]AuditRecord, 0, len(rs))
	var errs []error
	for _, r := range rs {
		r, err := NormalizeAudit(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		valid = append(valid, r)
	}
	return valid, errors.Join(errs...)
}

// List limits.
const (
	DefaultTaskListLimit  = 50
	MaxTaskListLimit      = 1000
	DefaultAuditListLimit = 100
	MaxAuditListLimit     = 1000
)

// taskOrders maps the accepted TaskListParams.OrderBy values to their
// leading sort key (a column or KeyNegPriority); the backend's dialect
// turns it into SQL, so only constants reach the SQL text. Every ordering
// ends with the id, which sorts by length first so that "t-<digits>" ids
// come in numeric order. Three keys serve the five orders, so that each
// has its index without every write paying for five: "id" is createdAt's
// order (an id is made from its creation time: t-<ms><sequence>), and
// "priority" is queue's order read the other way (priority descending is
// queue ascending: ties oldest first). "queue" sorts by -priority so that
// all its keys go one way (priority descending, then id ascending, as
// Redis's queue ZSET scores -priority with ties by member): one index
// serves it in both directions.
var taskOrders = map[string]string{
	"createdAt": "created_at",
	"updatedAt": "updated_at",
	"priority":  KeyNegPriority,
	"id":        "created_at",
	"queue":     KeyNegPriority,
}

// KeyNegPriority is the leading sort key of the queue order: -priority.
const KeyNegPriority = "-priority"

// TaskListQuery is a validated TaskListParams.
type TaskListQuery struct {
	Status     string
	AssignedTo string
	Session    string
	// UpdatedBefore is zero when not filtering.
	UpdatedBefore time.Time
	Limit         int
	Offset        int
	// OrderBy is the canonical order name (createdAt when none was given);
	// Desc is the direction its sort keys are read in (for priority, the
	// opposite of its Order, as its key is -priority).
	OrderBy string
	Desc    bool
	// Key is the leading sort key (see taskOrders). KeyIsTime says it is
	// a time column, its cursor value Unix micros.
	Key       string
	KeyIsTime bool
	// After is the decoded cursor, nil for the first page.
	After *Cursor
}

// Cursor is the position after the last row of a page: that row's leading
// sort key and id, and the order and filters it was made for, so that it is
// refused with any other. It travels as an opaque base64url string.
type Cursor struct {
	Order   string `json:"o"`
	Desc    bool   `json:"d,omitempty"`
	Filters string `json:"f"`
	// Key is the leading sort key of the last row (Unix micros for a time,
	// or the negated priority).
	Key int64  `json:"k,omitempty"`
	ID  string `json:"i"`
}

// Encode returns the cursor's opaque string form.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c) // a struct of strings and numbers always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses an opaque cursor string. Errors wrap
// ErrInvalidArgument.
func DecodeCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&c)
	}
	if err != nil || c.ID == "" || c.Order == "" {
		return Cursor{}, fmt.Errorf("%w: after %.40q is not a cursor this store made", ErrInvalidArgument, s)
	}
	return c, nil
}

// filterHash identifies a set of list filters inside a cursor.
func filterHash(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// CursorFor returns the cursor that continues q after task t (the last row
// of a page).
func (q TaskListQuery) CursorFor(t Task) string {
	c := Cursor{Order: q.OrderBy, Desc: q.Desc, Filters: q.filters(), ID: t.ID}
	switch q.OrderBy {
	case "createdAt", "id":
		c.Key = NormalizeTime(t.CreatedAt.Time).UnixMicro()
	case "updatedAt":
		c.Key = NormalizeTime(t.UpdatedAt.Time).UnixMicro()
	case "priority", "queue":
		c.Key = -int64(t.Priority)
	}
	return c.Encode()
}

func (q TaskListQuery) filters() string {
	before := ""
	if !q.UpdatedBefore.IsZero() {
		before = strconv.FormatInt(q.UpdatedBefore.UnixMicro(), 10)
	}
	return filterHash(q.Status, q.AssignedTo, q.Session, before)
}

// CountedByStatus reports whether the per-status counters answer q's total
// (no filter, or a status alone).
func (q TaskListQuery) CountedByStatus() bool {
	return q.AssignedTo == "" && q.Session == "" && q.UpdatedBefore.IsZero()
}

// NormalizeTaskList validates p against the whitelists and applies the
// defaults (OrderBy createdAt, Order desc but asc for queue, Limit 50, at
// most 1000), and decodes and checks its cursor. Errors wrap
// ErrInvalidArgument.
func NormalizeTaskList(p TaskListParams) (TaskListQuery, error) {
	orderBy := p.OrderBy
	if orderBy == "" {
		orderBy = "createdAt"
	}
	key, ok := taskOrders[orderBy]
	if !ok {
		return TaskListQuery{}, fmt.Errorf("%w: orderBy %q is not one of createdAt, updatedAt, priority, id, queue",
			ErrInvalidArgument, p.OrderBy)
	}
	var desc bool
	switch strings.ToLower(p.Order) {
	case "":
		desc = orderBy != "queue"
	case "desc":
		desc = true
	case "asc":
	default:
		return TaskListQuery{}, fmt.Errorf("%w: order %q is not asc or desc", ErrInvalidArgument, p.Order)
	}
	limit, err := normalizeLimit(p.Limit, DefaultTaskListLimit, MaxTaskListLimit)
	if err != nil {
		return TaskListQuery{}, err
	}
	if p.Offset < 0 {
		return TaskListQuery{}, fmt.Errorf("%w: offset %d is negative", ErrInvalidArgument, p.Offset)
	}
	if p.Offset > 0 && p.After != "" {
		return TaskListQuery{}, fmt.Errorf("%w: offset and after exclude each other: page by after alone", ErrInvalidArgument)
	}
	if orderBy == "priority" {
		desc = !desc // over -priority: priority descending is -priority ascending
	}
	q := TaskListQuery{
		Status:     p.Status,
		AssignedTo: p.AssignedTo,
		Session:    p.Session,
		Limit:      limit,
		Offset:     p.Offset,
		OrderBy:    orderBy,
		Desc:       desc,
		Key:        key,
		KeyIsTime:  key == "created_at" || key == "updated_at",
	}
	if p.UpdatedBefore != "" {
		t, err := time.Parse(time.RFC3339Nano, p.UpdatedBefore)
		if err != nil {
			return TaskListQuery{}, fmt.Errorf("%w: updatedBefore %q is not an RFC 3339 time", ErrInvalidArgument, p.UpdatedBefore)
		}
		q.UpdatedBefore = NormalizeTime(t)
	}
	if p.After != "" {
		c, err := DecodeCursor(p.After)
		if err != nil {
			return TaskListQuery{}, err
		}
		if c.Order != q.OrderBy || c.Desc != q.Desc || c.Filters != q.filters() {
			return TaskListQuery{}, fmt.Errorf("%w: after: the cursor was made for another order or other filters; pass the same ones as for the page before",
				ErrInvalidArgument)
		}
		q.After = &c
	}
	return q, nil
}

// NormalizeAuditList validates p and applies the defaults (Limit 100, at
// most 1000, Since in UTC). Errors wrap ErrInvalidArgument.
func NormalizeAuditList(p AuditListParams) (AuditListQuery, error) {
	limit, err := normalizeLimit(p.Limit, DefaultAuditListLimit, MaxAuditListLimit)
	if err != nil {
		return AuditListQuery{}, err
	}
	p.Limit = limit
	if !p.Since.IsZero() {
		p.Since = NormalizeTime(p.Since)
	}
	q := AuditListQuery{AuditListParams: p}
	if p.After != "" {
		c, err := DecodeCursor(p.After)
		if err != nil {
			return AuditListQuery{}, err
		}
		if c.Order != "audit" || c.Filters != q.filters() {
			return AuditListQuery{}, fmt.Errorf("%w: after: the cursor was made for other filters; pass the same ones as for the page before",
				ErrInvalidArgument)
		}
		q.Cursor = &c
	}
	return q, nil
}

// AuditListQuery is a validated AuditListParams with its decoded cursor.
type AuditListQuery struct {
	AuditListParams
	// Cursor is the position to continue after, nil for the first page.
	Cursor *Cursor
}

func (q AuditListQuery) filters() string {
	since := ""
	if !q.Since.IsZero() {
		since = strconv.FormatInt(q.Since.UnixMicro(), 10)
	}
	return filterHash(q.SessionID, q.Decision, q.Event, q.Tool, since)
}

// CursorFor returns the cursor that continues q after record r (the last
// of a page, newest first).
func (q AuditListQuery) CursorFor(r AuditRecord) string {
	return Cursor{Order: "audit", Desc: true, Filters: q.filters(),
		Key: NormalizeTime(r.Time.Time).UnixMicro(), ID: r.ID}.Encode()
}

func normalizeLimit(limit, def, maxLimit int) (int, error) {
	switch {
	case limit < 0:
		return 0, fmt.Errorf("%w: limit %d is negative", ErrInvalidArgument, limit)
	case limit == 0:
		return def, nil
	case limit > maxLimit:
		return maxLimit, nil
	}
	return limit, nil
}

// ValidAttachmentType reports whether typ is one of api.AttachmentTypes.
func ValidAttachmentType(typ string) bool {
	return slices.Contains(api.AttachmentTypes, typ)
}

// NormalizeAttachment validates a and returns the form a backend stores:
// Size set to the byte length of Value as given, times in UTC at
// TimePrecision, a zero UpdatedAt set to now and a zero CreatedAt to
// UpdatedAt. Errors wrap ErrInvalidArgument.
func NormalizeAttachment(a Attachment) (Attachment, error) {
	if err := checkAttachmentName("task id", a.TaskID); err != nil {
		return Attachment{}, err
	}
	if err := checkAttachmentName("key", a.Key); err != nil {
		return Attachment{}, fmt.Errorf("task %s: %w", a.TaskID, err)
	}
	if !ValidAttachmentType(a.Type) {
		return Attachment{}, fmt.Errorf("%w: task %s: attachment %q: type %q is not one of %s",
			ErrInvalidArgument, a.TaskID, a.Key, a.Type, strings.Join(api.AttachmentTypes, ", "))
	}
	if !json.Valid(a.Value) {
		return Attachment{}, fmt.Errorf("%w: task %s: attachment %q: value is not valid JSON",
			ErrInvalidArgument, a.TaskID, a.Key)
	}
	if !utf8.ValidString(a.CreatedBy) || strings.ContainsRune(a.CreatedBy, 0) {
		return Attachment{}, fmt.Errorf("%w: task %s: attachment %q: createdBy is not UTF-8 text without NUL",
			ErrInvalidArgument, a.TaskID, a.Key)
	}
	a.Size = len(a.Value)
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt.Time = time.Now()
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = a.UpdatedAt
	}
	a.CreatedAt.Time = NormalizeTime(a.CreatedAt.Time)
	a.UpdatedAt.Time = NormalizeTime(a.UpdatedAt.Time)
	return a, nil
}

// checkAttachmentName refuses an empty task id or key, and one that is not
// UTF-8 or holds a NUL byte, which PostgreSQL's text cannot store (SQLite
// would, so both backends refuse it alike).
func checkAttachmentName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: attachment %s is empty", ErrInvalidArgument, what)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return fmt.Errorf("%w: attachment %s %q is not UTF-8 text without NUL", ErrInvalidArgument, what, s)
	}
	return nil
}
