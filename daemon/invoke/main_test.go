package invoke

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/claudebench/cb/daemon/registry"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/redis/go-redis/v9"
)

var testRedis *testenv.Redis

func TestMain(m *testing.M) {
	r, err := testenv.StartRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRedis = r
	code := m.Run()
	r.Close()
	os.Exit(code)
}

// newClient connects to the package's redis-server, emptied.
func newClient(t *testing.T) *redis.Client {
	t.Helper()
	opt, _ := redis.ParseURL(testRedis.URL())
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// system.version has a schema with an empty input; tests reuse it as the
// method name of their own handler bodies.
const method = "system.version"

func version() registry.Func {
	return func(ctx context.Context, r *registry.Request) (any, error) {
		return map[string]any{"version": "t", "instanceId": "x", "redisMode": "external"}, nil
	}
}
