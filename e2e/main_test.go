// Package e2e runs the built cb and cbd binaries as processes against a real
// redis-server, the way Claude Code and a user run them.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/claudebench/cb/internal/testenv"
)

var (
	bin   testenv.Binaries
	redis *testenv.Redis
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cbbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if bin, err = testenv.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if redis, err = testenv.StartRedis(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer redis.Close()
	return m.Run()
}
