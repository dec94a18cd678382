package clitest

import (
	"path/filepath"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// MiniRedis starts a miniredis and points cb at it (CB_REDIS_URL), with no
// config file, no Claude Code session and no colors.
func MiniRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	t.Setenv("CB_REDIS_URL", "redis://"+m.Addr())
	t.Setenv("CB_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	t.Setenv("CLAUDE_CODE_SESSION_ID", "")
	t.Setenv("NO_COLOR", "1")
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return m, rdb
}
