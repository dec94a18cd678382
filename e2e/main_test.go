// Package e2e runs the built cb and cbd binaries as processes against a real
// redis-server, the way Claude Code and a user run them.
package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
	goredis "github.com/redis/go-redis/v9"
)

var (
	bin   testenv.Binaries
	redis *testenv.Redis
)

func TestMain(m *testing.M) {
	// The tests' own clients see their redis-servers stop on purpose; what
	// go-redis would print then says nothing (cbd's logs are checked).
	goredis.SetLogger(quiet{})
	os.Exit(testenv.Main(m, &bin, func() (func(), error) {
		var err error
		redis, err = testenv.StartRedis()
		if err != nil {
			return nil, err
		}
		return redis.Close, nil
	}))
}

// quiet is a go-redis logger that prints nothing.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
