package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/claudebench/cb/schemas/validate"
	goredis "github.com/redis/go-redis/v9"
)

// RedisMain is the body of a TestMain for a package whose tests share one
// redis-server, one test at a time (each takes it emptied, with Flushed):
// it starts the server into *srv, runs the tests and stops it. It returns
// the exit code for os.Exit.
func RedisMain(m *testing.M, srv **Redis) int {
	r, err := StartRedis()
	if r != nil {
		defer r.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*srv = r
	return m.Run()
}

// shared is the server SharedRedisMain started for the test binary.
var shared *Redis

// SharedRedisMain is the whole TestMain of a package whose tests share one
// redis-server, one test at a time: it runs RedisMain and exits with its
// code. The tests reach the server with SharedRedis.
func SharedRedisMain(m *testing.M) { os.Exit(RedisMain(m, &shared)) }

// SharedRedis is the server SharedRedisMain started; a test takes it
// emptied with Flushed.
func SharedRedis(t testing.TB) *Redis {
	t.Helper()
	if shared == nil {
		t.Fatal("no shared redis-server: TestMain must call testenv.SharedRedisMain")
	}
	return shared
}

// Flushed is a Client of the server (opts as for Client) after FLUSHALL:
// a test on a shared server starts from an empty one.
func (r *Redis) Flushed(t testing.TB, opts ...func(*goredis.Options)) *goredis.Client {
	t.Helper()
	c := r.Client(t, opts...)
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("flush redis-server %s: %v", r.Socket, err)
	}
	return c
}

// validator is compiled once per test binary: compiling every schema is
// slow, and a Validator is read-only once made.
var validator = sync.OnceValues(validate.New)

// Validator is the validator of the method schemas (package schemas),
// shared by the tests of one binary.
func Validator(t testing.TB) *validate.Validator {
	t.Helper()
	v, err := validator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
