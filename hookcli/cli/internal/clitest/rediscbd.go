package clitest

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/claudebench/cb/hookcli/cli/cmdutil"
	"github.com/claudebench/cb/hookcli/cli/iostreams"
	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// RedisCBD is a stand-in cbd on a real redis-server, for the commands that
// read Redis themselves besides calling (cb task claim --wait): it serves
// the methods given to it over the same streams and answer lists as cbd,
// and records every call. Commands reach it through a Factory from
// NewRedisFactory (CB_REDIS_URL is set to it).
type RedisCBD struct {
	t     *testing.T
	Rdb   *redis.Client
	mu    sync.Mutex
	fns   map[string]Handler
	calls []Call
}

// NewRedisCBD starts redis-server and serves fns on it until the test ends.
func NewRedisCBD(t *testing.T, fns map[string]Handler) *RedisCBD {
	t.Helper()
	srv := testenv.NewRedis(t)
	f := &RedisCBD{t: t, Rdb: srv.Client(t), fns: fns}
	ctx, cancel := context.WithCancel(context.Background())
	var streams []string
	for m := range fns {
		f.Rdb.ZAdd(ctx, protocol.ServingKey(m), redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "fake"})
		f.Rdb.SAdd(ctx, protocol.MethodsKey, m)
		streams = append(streams, protocol.StreamKey(m))
	}
	done := make(chan struct{})
	go func() { defer close(done); f.serve(ctx, streams) }()
	t.Cleanup(func() { cancel(); <-done })
	t.Setenv("CB_REDIS_URL", srv.URL())
	t.Setenv("CB_CONFIG", filepath.Join(t.TempDir(), "none.yaml"))
	t.Setenv("NO_COLOR", "1")
	return f
}

func (f *RedisCBD) serve(ctx context.Context, streams []string) {
	ids := make([]string, len(streams))
	for i := range ids {
		ids[i] = "0"
	}
	for ctx.Err() == nil && len(streams) > 0 {
		res, err := f.Rdb.XRead(ctx, &redis.XReadArgs{Streams: append(append([]string{}, streams...), ids...), Block: 50 * time.Millisecond}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		for _, st := range res {
			for _, msg := range st.Messages {
				for i, s := range streams {
					if s == st.Stream {
						ids[i] = msg.ID
					}
				}
				data, _ := msg.Values[protocol.StreamField].(string)
				ev, err := protocol.DecodeEvent([]byte(data))
				if err != nil {
					f.t.Errorf("fake cbd: %v", err)
					continue
				}
				var params map[string]any
				_ = json.Unmarshal(ev.Payload, &params)
				f.mu.Lock()
				f.calls = append(f.calls, Call{ev.Type, params})
				f.mu.Unlock()
				resp := protocol.Response{ID: ev.Metadata.ID}
				out, err := f.fns[ev.Type](ctx, ev.Payload)
				if err != nil {
					resp.Error = protocol.AsError(err)
				} else {
					resp.Result = out
				}
				b, _ := json.Marshal(resp)
				f.Rdb.LPush(ctx, protocol.ResponseKey(ev.Metadata.CorrelationID), b)
			}
		}
	}
}

// Calls returns the calls so far.
func (f *RedisCBD) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// NewRedisFactory is cb-cli's own Factory (settings from the environment,
// go-redis to CB_REDIS_URL) on buffers.
func NewRedisFactory(t *testing.T) (*cmdutil.Factory, Streams) {
	ios, in, out, errOut := iostreams.Test()
	f, closeClient := cmdutil.New(ios)
	t.Cleanup(closeClient)
	return f, Streams{in, out, errOut}
}
