// Package system implements the system.* handlers.
package system

import (
	"context"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/protocol"
)

// Deps are what the system handlers read.
type Deps struct {
	InstanceID string
	RedisMode  string
}

// Handlers returns the system.* handlers.
func Handlers(d Deps) []registry.Handler {
	return []registry.Handler{
		{
			Event: "system.version",
			Fn: func(ctx context.Context, req *registry.Request) (any, error) {
				return map[string]any{"version": protocol.Version, "instanceId": d.InstanceID, "redisMode": d.RedisMode}, nil
			},
			Expose: []string{"mcp"},
		},
	}
}
