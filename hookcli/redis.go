package hookcli

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// dialRedis builds a client tuned for a short-lived process: RESP2 and no
// CLIENT SETINFO (two round trips saved), no retries, and net deadlines
// taken from the context only (every cb call has one), so a BLPOP may wait
// as long as the caller does.
func dialRedis(url string, poolSize int) (*redis.Client, error) {
	// go-redis logs dial failures itself; cb reports errors in its own words.
	redis.SetLogger(quietLogger{})
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url %q: %w", url, err)
	}
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.ContextTimeoutEnabled = true
	opt.ReadTimeout = -1 // reads end at the context's deadline, not after 3 s
	opt.MaxRetries = -1
	opt.PoolSize = poolSize
	opt.PipelinePoolSize = -1
	opt.DialerRetries = 1
	return redis.NewClient(opt), nil
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
