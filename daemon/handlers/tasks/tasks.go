// Package tasks implements the task.* handlers on top of the task service.
package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/daemon/tasks"
	"github.com/claudebench/cb/internal/jsonint"
	"github.com/claudebench/cb/protocol"
)

// Handlers returns the task.* handlers.
func Handlers(svc *tasks.Service) []registry.Handler {
	mcp := []string{"mcp"}
	hs := []registry.Handler{
		{Event: "task.create", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p tasks.CreateParams
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Create(ctx, r.Event.Metadata.ID, p)
		}},
		{Event: "task.update", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				ID      string          `json:"id"`
				Updates json.RawMessage `json:"updates"`
			}
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Update(ctx, r.Event.Metadata.ID, p.ID, p.Updates)
		}},
		{Event: "task.assign", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct{ TaskID, InstanceID string }
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Assign(ctx, r.Event.Metadata.ID, p.TaskID, p.InstanceID)
		}},
		{Event: "task.unassign", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct{ TaskID string }
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Assign(ctx, r.Event.Metadata.ID, p.TaskID, "")
		}},
		{Event: "task.claim", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				WorkerID string
				MaxTasks int
				LeaseMs  int64
			}
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			if p.MaxTasks == 0 {
				p.MaxTasks = 1
			}
			return svc.Claim(ctx, r.Event.Metadata.ID, p.WorkerID, p.MaxTasks, time.Duration(p.LeaseMs)*time.Millisecond)
		}},
		{Event: "task.renew", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				ID, WorkerID string
				LeaseMs      int64
			}
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Renew(ctx, r.Event.Metadata.ID, p.ID, p.WorkerID, time.Duration(p.LeaseMs)*time.Millisecond)
		}},
		{Event: "task.complete", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct {
				ID, WorkerID string
				Result       json.RawMessage
			}
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Finish(ctx, r.Event.Metadata.ID, p.ID, p.WorkerID, store.StatusCompleted, string(p.Result))
		}},
		{Event: "task.fail", Persist: true, Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct{ ID, WorkerID, Error string }
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Finish(ctx, r.Event.Metadata.ID, p.ID, p.WorkerID, store.StatusFailed, p.Error)
		}},
		{Event: "task.get", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct{ ID string }
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			return svc.Get(ctx, p.ID)
		}},
		{Event: "task.list", Expose: mcp, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			p := store.TaskListParams{Limit: 50, OrderBy: "createdAt", Order: "desc"}
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			res, err := svc.List(ctx, p)
			if err != nil {
				return nil, err
			}
			if res.Tasks == nil {
				res.Tasks = []store.Task{}
			}
			return map[string]any{"tasks": res.Tasks, "totalCount": res.TotalCount, "hasMore": res.HasMore}, nil
		}},
		{Event: "task.delete", Persist: true, Fn: func(ctx context.Context, r *registry.Request) (any, error) {
			var p struct{ ID string }
			if err := decode(r, &p); err != nil {
				return nil, err
			}
			if err := svc.Delete(ctx, r.Event.Metadata.ID, p.ID); err != nil {
				return nil, err
			}
			return map[string]any{"id": p.ID, "deleted": true}, nil
		}},
	}
	for i := range hs {
		hs[i].Roles = []string{"tasks"}
	}
	return hs
}

// decode unmarshals validated params (field names match case-insensitively).
// Integral numbers such as 50.0 or 1e2 are integers to JSON Schema, so they
// decode into int fields too, nested ones (task.update's updates) included.
func decode(r *registry.Request, v any) error {
	if err := jsonint.Unmarshal(r.Params, v); err != nil {
		return &protocol.Error{Code: protocol.CodeInvalidParams, Message: fmt.Sprintf("%s params: %v", r.Event.Type, err)}
	}
	return nil
}
