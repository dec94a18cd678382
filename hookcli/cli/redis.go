package cli

import (
	"context"
	"encoding/json"

	"github.com/claudebench/cb/hookcli"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"
)

// dialRedis opens the client of a short-lived process (see
// client.RedisTuning.Short).
func dialRedis(url string, poolSize int) (*redis.Client, error) {
	// go-redis logs dial failures itself; cb reports errors in its own words.
	redis.SetLogger(quietLogger{})
	return client.OpenRedis(url, client.RedisTuning{PoolSize: poolSize, Short: true})
}

// parseYAML reads the config file as cbd does.
func parseYAML(data []byte) (map[string]any, error) {
	var m map[string]any
	err := yaml.Unmarshal(data, &m)
	return m, err
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// hookTransport runs `cb hook` with yaml and go-redis: every config file,
// and every URL client.OpenRedis takes, TLS and Sentinel included.
type hookTransport struct{}

func (hookTransport) Settings() (*hookcli.Settings, error) { return hookcli.LoadSettings(parseYAML) }

func (hookTransport) Open(url string) (hookcli.Conn, error) {
	rdb, err := dialRedis(url, 1)
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
