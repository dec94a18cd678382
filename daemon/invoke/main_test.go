package invoke

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
)

func TestMain(m *testing.M) { testenv.SharedRedisMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// system.version has a schema with an empty input; tests reuse it as the
// method name of their own handler bodies.
const method = "system.version"

func version() registry.Func {
	return func(ctx context.Context, r *registry.Request) (any, error) {
		return map[string]any{"version": "t", "instanceId": "x", "redisMode": "external"}, nil
	}
}
