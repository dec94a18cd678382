package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
	"github.com/claudebench/cb/schemas/validate"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
)

// Attachments live in the durable store only (Redis keeps none of them):
// task.attach writes one through to the store, then attach.lua announces it
// as a task.attached event. task.claim and task.get read them back with
// the task; task.complete keeps a non-empty result as the attachment
// api.ResultAttachmentKey (announced by its task.completed event, which
// carries the result).

// invalidValue is a -32602 error about one field, shaped like the schema
// validator's (data.errors lists the failing field paths).
func invalidValue(path, format string, args ...any) *protocol.Error {
	msg := fmt.Sprintf(format, args...)
	return &protocol.Error{
		Code:    protocol.CodeInvalidParams,
		Message: "invalid params for task.attach: " + path + ": " + msg,
		Data:    map[string]any{"errors": []validate.FieldError{{Path: path, Message: msg}}},
	}
}

// CheckAttachment validates value, an attachment's JSON value, against its
// type typ and the size cap maxBytes (tasks.attachment_max_bytes; <= 0: no
// cap), and returns it compacted: the size counted is the compact JSON's.
// note takes a string with more than white space in it; files an array of
// one or more non-empty strings (paths); links an array of one or more
// absolute http, https or file URLs; result and json any JSON value. A
// failure is a -32602 error naming the field (/type or /value...).
func CheckAttachment(typ string, value json.RawMessage, maxBytes int) (json.RawMessage, error) {
	switch typ {
	case api.AttachmentNote, api.AttachmentFiles, api.AttachmentLinks, api.AttachmentResult, api.AttachmentJSON:
	default:
		return nil, invalidValue("/type", "unknown attachment type %q (one of %s)", typ, strings.Join(api.AttachmentTypes, ", "))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, value); err != nil {
		return nil, invalidValue("/value", "not JSON: %v", err)
	}
	compact := buf.Bytes()
	if maxBytes > 0 && len(compact) > maxBytes {
		return nil, invalidValue("/value", "%d bytes of JSON, more than tasks.attachment_max_bytes (%d)", len(compact), maxBytes)
	}
	if bytes.Contains(compact, []byte(`\u0000`)) && holdsNUL(compact) {
		// PostgreSQL's jsonb cannot hold it: refused on every store alike.
		return nil, invalidValue("/value", "a string holds U+0000 (NUL), which the store cannot keep")
	}
	switch typ {
	case api.AttachmentNote:
		var s string
		if err := json.Unmarshal(compact, &s); err != nil {
			return nil, invalidValue("/value", "a note is a string, not %s", jsonKind(compact))
		}
		if strings.TrimSpace(s) == "" {
			return nil, invalidValue("/value", "a note must not be empty")
		}
	case api.AttachmentFiles, api.AttachmentLinks:
		what := map[string]string{api.AttachmentFiles: "path", api.AttachmentLinks: "URL"}[typ]
		var items []json.RawMessage
		if err := json.Unmarshal(compact, &items); err != nil {
			return nil, invalidValue("/value", "%s is an array of %ss, not %s", typ, what, jsonKind(compact))
		}
		if len(items) == 0 {
			return nil, invalidValue("/value", "%s lists at least one %s", typ, what)
		}
		for i, raw := range items {
			path := fmt.Sprintf("/value/%d", i)
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, invalidValue(path, "a %s is a string, not %s", what, jsonKind(raw))
			}
			if strings.TrimSpace(s) == "" {
				return nil, invalidValue(path, "an empty %s", what)
			}
			if typ == api.AttachmentLinks {
				if err := checkLink(s); err != nil {
					return nil, invalidValue(path, "%q: %v", s, err)
				}
			}
		}
	}
	return compact, nil
}

// holdsNUL reports whether a string (or an object key) in the JSON value
// raw holds U+0000.
func holdsNUL(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}

// checkLink accepts an absolute http, https or file URL.
func checkLink(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.Unwrap(err) // url.Error repeats the URL
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return errors.New("no host")
		}
	case "file":
		if u.Path == "" && u.Opaque == "" {
			return errors.New("no path")
		}
	case "":
		return errors.New("not an absolute URL (http, https or file)")
	default:
		return fmt.Errorf("scheme %s is not http, https or file", u.Scheme)
	}
	return nil
}

// jsonKind names the kind of a JSON value for an error message.
func jsonKind(raw []byte) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "a string"
	case b[0] == '[':
		return "an array"
	case b[0] == '{':
		return "an object"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

// Attach stores p's value as the attachment p.Key of task p.TaskID
// (replacing one with that key) and announces it with a task.attached
// event. A bad type or value, a value over tasks.attachment_max_bytes and
// a new key past tasks.max_attachments are -32602 and change nothing; an
// unknown or deleted task is -32004. A request id seen before (eventID)
// gets the answer it got then.
func (s *Service) Attach(ctx context.Context, eventID string, p api.TaskAttachParams) (api.Attachment, error) {
	value, err := CheckAttachment(p.Type, p.Value, s.cfg.AttachmentMaxBytes)
	if err != nil {
		return api.Attachment{}, err
	}
	if prev, ok, err := s.remembered(ctx, eventID); err != nil || ok {
		if err != nil {
			return api.Attachment{}, err
		}
		var a api.Attachment
		if err := json.Unmarshal(prev, &a); err != nil {
			return api.Attachment{}, fmt.Errorf("decode remembered attachment: %w", err)
		}
		return a, nil
	}
	// The task may still be on its way to the store (another request's
	// save in this instance's persister): the store must have it first.
	if err := s.persist.Flush(ctx); err != nil {
		return api.Attachment{}, err
	}
	// The store sets the size and times.
	a, err := s.store.AttachmentPut(ctx, store.Attachment{TaskID: p.TaskID, Key: p.Key, Type: p.Type, Value: value,
		CreatedBy: p.CreatedBy}, s.cfg.MaxAttachments)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.Attachment{}, protocol.Errorf(protocol.CodeNotFound, "task %s not found", p.TaskID)
	case errors.Is(err, store.ErrTooManyAttachments):
		return api.Attachment{}, invalidValue("/key", "task %s has %d attachments, the most tasks.max_attachments allows: attach under one of its keys to replace it, or raise the limit",
			p.TaskID, s.cfg.MaxAttachments)
	case errors.Is(err, store.ErrInvalidArgument):
		return api.Attachment{}, &protocol.Error{Code: protocol.CodeInvalidParams, Message: "invalid params for task.attach: " + err.Error()}
	case err != nil:
		return api.Attachment{}, fmt.Errorf("attach %s to task %s: %w", p.Key, p.TaskID, err)
	}
	data, err := json.Marshal(a)
	if err != nil {
		return api.Attachment{}, fmt.Errorf("encode attachment: %w", err)
	}
	keys := attachKeys(eventID)
	if _, err := s.run(ctx, redisscript.TaskAttach(), eventID, keys[:], string(data)); err != nil {
		// Stored but not announced: the caller's retry (the same request
		// id) stores the same value again and announces it.
		return api.Attachment{}, err
	}
	return a, nil
}

// remembered returns the remembered answer of request eventID to a task
// operation, if there is one.
func (s *Service) remembered(ctx context.Context, eventID string) (json.RawMessage, bool, error) {
	if eventID == "" {
		return nil, false, nil
	}
	raw, err := s.rdb.Get(ctx, protocol.TaskIdemKey(eventID)).Result()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		}
		return nil, false, &protocol.Error{Code: protocol.CodeUnavailable, Message: "redis: " + err.Error()}
	}
	var r scriptReply
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, false, fmt.Errorf("remembered answer %q: %w", raw, err)
	}
	if r.Err != nil {
		return nil, false, r.Err
	}
	return r.OK, true, nil
}

// Attachments lists the attachments of task p.TaskID (oldest first), or the
// one with key p.Key (none: an empty list). An unknown or deleted task is
// -32004.
func (s *Service) Attachments(ctx context.Context, p api.TaskAttachmentsParams) (api.TaskAttachmentsResult, error) {
	if _, err := s.load(ctx, p.TaskID); err != nil {
		return api.TaskAttachmentsResult{}, err
	}
	list, err := s.store.AttachmentList(ctx, []string{p.TaskID}, p.Key)
	if err != nil {
		return api.TaskAttachmentsResult{}, fmt.Errorf("attachments of task %s: %w", p.TaskID, err)
	}
	if list == nil {
		list = []api.Attachment{}
	}
	return api.TaskAttachmentsResult{TaskID: p.TaskID, Attachments: list}, nil
}

// withAttachments adds their attachments to tasks (in place), with one
// store read for all of them.
func (s *Service) withAttachments(ctx context.Context, tasks []api.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	list, err := s.store.AttachmentList(ctx, ids, "")
	if err != nil {
		return fmt.Errorf("attachments of %d tasks: %w", len(ids), err)
	}
	for _, a := range list {
		for i := range tasks {
			if tasks[i].ID == a.TaskID {
				tasks[i].Attachments = append(tasks[i].Attachments, a)
				break
			}
		}
	}
	return nil
}

// keepResult stores a completed task's result as its attachment
// api.ResultAttachmentKey, unless it is empty or over the size cap: then
// only the task keeps it. The count cap does not apply: a task that holds
// tasks.max_attachments still keeps its result.
func (s *Service) keepResult(ctx context.Context, id, worker, result string) error {
	if result == "" || result == "null" {
		return nil
	}
	value, err := CheckAttachment(api.AttachmentResult, json.RawMessage(result), s.cfg.AttachmentMaxBytes)
	if err != nil {
		s.log.Debug("result not kept as an attachment", "task", id, "err", err)
		return nil
	}
	a, err := s.store.AttachmentPut(ctx, store.Attachment{TaskID: id, Key: api.ResultAttachmentKey, Type: api.AttachmentResult,
		Value: value, CreatedBy: worker}, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Deleted meanwhile: the completion stands.
		s.log.Debug("result not kept as an attachment", "task", id, "err", err)
		return nil
	case err != nil:
		return fmt.Errorf("keep the result of task %s: %w", id, err)
	}
	// Announced like any attachment, after the store has it, so a live view
	// (the dashboard) takes it from the event instead of reading it back
	// at a guessed moment after task.completed. Not remembered (no request
	// id): a replayed completion stores and announces it again.
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode attachment: %w", err)
	}
	keys := attachKeys("")
	if _, err := s.run(ctx, redisscript.TaskAttach(), "", keys[:], string(data)); err != nil {
		return fmt.Errorf("announce the result of task %s: %w", id, err)
	}
	return nil
}
