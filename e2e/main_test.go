// Package e2e runs the built cb and cbd binaries as processes against a real
// redis-server, the way Claude Code and a user run them.
package e2e

import (
	"context"
	"fmt"
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
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The tests' own clients see their redis-servers stop on purpose; what
	// go-redis would print then says nothing (cbd's logs are checked).
	goredis.SetLogger(quiet{})
	var remove func()
	var err error
	if bin, remove, err = testenv.BuildTemp(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	if redis, err = testenv.StartRedis(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer redis.Close()
	return m.Run()
}

// quiet is a go-redis logger that prints nothing.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}
