package testenv

import (
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// NewRedis starts a redis-server of its own for one test or benchmark
// (extra are more redis-server arguments), stopped and removed at its end.
func NewRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	r, err := StartRedis(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// Client is a go-redis client of the server, closed at the end of the test.
// opts adjust its options (a pool size, say) before it is made.
func (r *Redis) Client(t testing.TB, opts ...func(*goredis.Options)) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(opt)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// PoolSize is a Client option: at most n connections.
func PoolSize(n int) func(*goredis.Options) {
	return func(o *goredis.Options) { o.PoolSize = n }
}
