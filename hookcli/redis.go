package hookcli

import (
	"context"

	"github.com/claudebench/cb/protocol/client"
	"github.com/redis/go-redis/v9"
)

// dialRedis opens the client of a short-lived process (see
// client.RedisTuning.Short).
func dialRedis(url string, poolSize int) (*redis.Client, error) {
	// go-redis logs dial failures itself; cb reports errors in its own words.
	redis.SetLogger(quietLogger{})
	return client.OpenRedis(url, client.RedisTuning{PoolSize: poolSize, Short: true})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
