package cli

import (
	"context"
	"encoding/json"

	"github.com/claudebench/cb/hookcli/bridge"
	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
)

// hookTransport runs `cb hook` with yaml and go-redis: every config file,
// and every URL client.OpenRedis takes, TLS and Sentinel included.
type hookTransport struct{}

func (hookTransport) Settings() (*bridge.Settings, error) {
	return bridge.LoadSettings(cmdutil.ParseYAML)
}

func (hookTransport) Open(url string) (bridge.Conn, error) {
	rdb, err := cmdutil.DialRedis(url, 1)
	if err != nil {
		return nil, err
	}
	return hookConn{client.New(rdb, "cb-hook")}, nil
}

type hookConn struct{ c *client.Client }

func (h hookConn) CallEvent(ctx context.Context, ev protocol.Event) (json.RawMessage, error) {
	return h.c.CallEvent(ctx, ev)
}

func (h hookConn) Close() error { return h.c.Redis().Close() }
