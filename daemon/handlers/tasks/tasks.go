// Package tasks implements the task.* handlers on top of the task service.
package tasks

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/jsonint"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/api"
)

// Handlers returns the task.* handlers.
func Handlers(svc *tasks.Service) []registry.Handler {
	mcp := []string{"mcp"}
	hs := []registry.Handler{
		{Event: "task.create", Persist: true, Expose: mcp, Fn: op(svc.Create)},
		{Event: "task.update", Persist: true, Expose: mcp, Fn: op(svc.Update)},
		{Event: "task.assign", Persist: true, Expose: mcp, Fn: op(svc.Assign)},
		{Event: "task.unassign", Persist: true, Expose: mcp, Fn: op(svc.Unassign)},
		{Event: "task.claim", Persist: true, Expose: mcp, Fn: op(svc.Claim)},
		{Event: "task.renew", Expose: mcp, Fn: op(svc.Renew)},
		{Event: "task.complete", Persist: true, Expose: mcp, Fn: op(svc.Complete)},
		{Event: "task.fail", Persist: true, Expose: mcp, Fn: op(svc.Fail)},
		{Event: "task.get", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.TaskGetParams
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Get(ctx, p.ID)
		}},
		{Event: "task.list", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			// Zero values leave the defaults to the store: the order is
			// desc except for orderBy queue, which is claim order (asc).
			var p api.TaskListParams
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			res, err := svc.List(ctx, p)
			if err != nil {
				return nil, err
			}
			if res.Tasks == nil {
				res.Tasks = []api.Task{}
			}
			return res, nil
		}},
		{Event: "task.attach", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.TaskAttachParams
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Attach(ctx, r.Event.Metadata.ID, p)
		}},
		{Event: "task.attachments", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.TaskAttachmentsParams
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Attachments(ctx, p)
		}},
		{Event: "task.delete", Persist: true, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p api.TaskDeleteParams
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			if err := svc.Delete(ctx, r.Event.Metadata.ID, p); err != nil {
				return nil, err
			}
			return api.TaskDeleteResult{ID: p.ID, Deleted: true}, nil
		}},
	}
	for i := range hs {
		hs[i].Roles = []string{"tasks"}
	}
	return hs
}

// op adapts a service operation that answers with the task scripts' JSON:
// its params P are decoded from the request, and the request id makes the
// operation idempotent.
func op[P any](fn func(ctx context.Context, eventID string, p P) (json.RawMessage, error)) registry.Func {
	return func(ctx context.Context, r *registry.Request) (any, error) {
		var p P
		if err := decode(r, &p); err != nil {
			return nil, err
		}
		return fn(ctx, r.Event.Metadata.ID, p)
	}
}

// decode unmarshals validated params. Integral numbers such as 50.0 or 1e2
// are integers to JSON Schema, so they decode into int fields too, nested
// ones (task.update's updates) included.
func decode(r *registry.Request, v any) error {
	if err := jsonint.Unmarshal(r.Params, v); err != nil {
		return &protocol.Error{Code: protocol.CodeInvalidParams, Message: fmt.Sprintf("%s params: %v", r.Event.Type, err)}
	}
	return nil
}
