package client

import (
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisTuning are client settings the two binaries choose differently.
type RedisTuning struct {
	PoolSize int
	// Short tunes for a short-lived process: RESP2 and no CLIENT SETINFO
	// (round trips saved), no retries, one dial attempt, and reads bounded
	// only by the context's deadline (a BLPOP waits as long as its caller).
	Short bool
}

// OpenRedis connects to a Redis URL: redis://, rediss:// (TLS), unix://, or
// a Sentinel URL — redis://[user:pass@]sentinel:26379?master_name=NAME
// [&addr=sentinel2:26379...] — for a primary with replicas and failover.
func OpenRedis(rawURL string, t RedisTuning) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if u.Query().Get("master_name") != "" {
		fo, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %w", err)
		}
		fo.ContextTimeoutEnabled = true
		if t.PoolSize > 0 {
			fo.PoolSize = t.PoolSize
		}
		if t.Short {
			fo.Protocol, fo.DisableIdentity, fo.MaxRetries, fo.ReadTimeout = 2, true, -1, -1
		}
		return redis.NewFailoverClient(fo), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opt.ContextTimeoutEnabled = true
	if t.PoolSize > 0 {
		opt.PoolSize = t.PoolSize
	}
	if t.Short {
		opt.Protocol = 2
		opt.DisableIdentity = true
		opt.MaxRetries = -1
		opt.ReadTimeout = -1
		opt.PipelinePoolSize = -1
		opt.DialerRetries = 1
		opt.DialTimeout = 2 * time.Second
	}
	return redis.NewClient(opt), nil
}
