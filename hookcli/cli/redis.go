package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

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

// cliSource names this cb process as the producer of its requests. Rate
// limits count per source (protocol.RateSource), so every process is a
// source of its own: commands run side by side (xargs -P, two terminals,
// cb work beside a loop of cb task create) no longer share one budget,
// while one long-running process (cb work, cb emit) is still held to the
// limit.
var cliSource = "cb/" + strconv.Itoa(os.Getpid())

// retryRateLimited runs call until it is not refused for being over a rate
// limit, waiting the retryAfterMs each refusal names (with a little
// jitter, so that many refused processes do not come back at once), as
// long as ctx's deadline (--timeout) leaves room for the wait. A refusal it
// cannot wait out is returned with the settings to change named.
func retryRateLimited(ctx context.Context, method string, call func(ctx context.Context) (json.RawMessage, error)) (json.RawMessage, error) {
	start := time.Now()
	for {
		res, err := call(ctx)
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeRateLimited {
			return res, err
		}
		wait := retryAfter(pe)
		wait += time.Duration(rand.Int64N(int64(wait/4) + 1))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, rateLimitHint(pe, method, time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil, rateLimitHint(pe, method, time.Since(start))
		case <-time.After(wait):
		}
	}
}

// retryAfter is the wait a rate-limited error asks for (data.retryAfterMs:
// an integer from call.lua, a JSON number from cbd), at least 10 ms.
func retryAfter(pe *protocol.Error) time.Duration {
	ms := int64(100)
	if data, ok := pe.Data.(map[string]any); ok {
		switch v := data["retryAfterMs"].(type) {
		case int64:
			ms = v
		case float64:
			ms = int64(v)
		case json.Number:
			ms, _ = v.Int64()
		}
	}
	return time.Duration(max(ms, 10)) * time.Millisecond
}

// rateLimitHint is a refusal cb gave up waiting on, naming the settings
// that raise the limit.
func rateLimitHint(pe *protocol.Error, method string, waited time.Duration) *protocol.Error {
	return &protocol.Error{Code: pe.Code, Data: pe.Data, Message: fmt.Sprintf(
		"%s (still refused after retrying for %s; allow more with --timeout, or raise the limit in cbd's config: %s, or handlers.rate_limit for every method; 0 = no limit)",
		pe.Message, waited.Round(time.Millisecond), protocol.HandlerKey(method, "rate_limit"))}
}
