package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/protocol/client"
	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"
)

// Caller sends one request to cbd and returns its result: the one way a
// command asks cbd for anything.
type Caller interface {
	Call(ctx context.Context, method string, params any) (json.RawMessage, error)
}

// CallerFunc adapts a function to Caller.
type CallerFunc func(ctx context.Context, method string, params any) (json.RawMessage, error)

// Call calls fn.
func (fn CallerFunc) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	return fn(ctx, method, params)
}

// Call sends one request through f's Caller.
func (f *Factory) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c, err := f.Caller()
	if err != nil {
		return nil, err
	}
	return c.Call(ctx, method, params)
}

// RedisCaller calls cbd over Redis streams (protocol/client). A request
// refused for being over a rate limit is sent again after the wait cbd
// names, within Timeout.
type RedisCaller struct {
	Client  *client.Client
	Timeout time.Duration
}

// Call sends one request and waits for the answer, at most Timeout.
func (r *RedisCaller) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	return RetryRateLimited(ctx, method, func(ctx context.Context) (json.RawMessage, error) {
		return r.Client.Call(ctx, method, params, client.Options{})
	})
}

// DialRedis opens the client of a short-lived process (see
// client.RedisTuning.Short).
func DialRedis(url string, poolSize int) (*redis.Client, error) {
	// go-redis logs dial failures itself; cb reports errors in its own words.
	redis.SetLogger(quietLogger{})
	return client.OpenRedis(url, client.RedisTuning{PoolSize: poolSize, Short: true})
}

// ParseYAML reads the config file as cbd does.
func ParseYAML(data []byte) (map[string]any, error) {
	var m map[string]any
	err := yaml.Unmarshal(data, &m)
	return m, err
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// CLISource names this cb process as the producer of its requests. Rate
// limits count per source (protocol.RateSource), so every process is a
// source of its own: commands run side by side (xargs -P, two terminals,
// cb work beside a loop of cb task create) do not share one budget, while
// one long-running process (cb work, cb emit) is still held to the limit.
var CLISource = "cb/" + strconv.Itoa(os.Getpid())

// RetryRateLimited runs call until it is not refused for being over a rate
// limit, waiting the retryAfterMs each refusal names (with a little
// jitter, so that many refused processes do not come back at once), as
// long as ctx's deadline (--timeout) leaves room for the wait. A refusal it
// cannot wait out is returned with the settings to change named.
func RetryRateLimited(ctx context.Context, method string, call func(ctx context.Context) (json.RawMessage, error)) (json.RawMessage, error) {
	start := time.Now()
	for {
		res, err := call(ctx)
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeRateLimited {
			return res, err
		}
		wait := RetryAfter(pe)
		wait += time.Duration(rand.Int64N(int64(wait/4) + 1))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, RateLimitHint(pe, method, time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil, RateLimitHint(pe, method, time.Since(start))
		case <-time.After(wait):
		}
	}
}

// RetryAfter is the wait a rate-limited error asks for (data.retryAfterMs:
// an integer from call.lua, a JSON number from cbd), at least 10 ms.
func RetryAfter(pe *protocol.Error) time.Duration {
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

// RateLimitHint is a refusal cb gave up waiting on, naming the settings
// that raise the limit.
func RateLimitHint(pe *protocol.Error, method string, waited time.Duration) *protocol.Error {
	return &protocol.Error{Code: pe.Code, Data: pe.Data, Message: fmt.Sprintf(
		"%s (still refused after retrying for %s; allow more with --timeout, or raise the limit in cbd's config: %s, or handlers.rate_limit for every method; 0 = no limit)",
		pe.Message, waited.Round(time.Millisecond), protocol.HandlerKey(method, "rate_limit"))}
}

// DecodeResult decodes a method's result into v.
func DecodeResult(method string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: unexpected answer: %w", method, err)
	}
	return nil
}
