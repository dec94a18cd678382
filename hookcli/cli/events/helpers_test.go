package events

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/internal/clitest"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

func testRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) { return clitest.MiniRedis(t) }

// runCB runs cb events or cb sessions (args[0]) in-process.
func runCB(stdin string, args ...string) (stdout, stderr string, code int) {
	newCmd := NewCmdEvents
	if len(args) > 0 && args[0] == "sessions" {
		newCmd = NewCmdSessions
	}
	return clitest.RunReal(stdin, func(f *cmdutil.Factory) *cobra.Command { return newCmd(f) }, args...)
}
