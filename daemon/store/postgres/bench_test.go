package postgres_test

import (
	"net/url"
	"testing"

	"github.com/claudebench/cb/daemon/store/storetest"
)

// benchRows is the size of the store the list benchmarks compare with an
// empty one.
const benchRows = 100_000

// benchSchema is a fresh schema with durable commits (the conformance
// suite turns synchronous_commit off), so that write costs are real.
func benchSchema(b *testing.B) string {
	u, _ := freshSchema(b)
	parsed, err := url.Parse(u)
	if err != nil {
		b.Fatal(err)
	}
	q := parsed.Query()
	q.Del("synchronous_commit")
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// BenchmarkTaskList: a page costs about the same at 100k tasks as at none
// (see the ratio metric), at the head of the list and deep in it.
func BenchmarkTaskList(b *testing.B) {
	full := open(b, benchSchema(b))
	storetest.FillForBench(b, full, benchRows)
	if err := full.Maintain(b.Context()); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkTaskList(b, full, open(b, benchSchema(b)), benchRows)
}

// BenchmarkTaskWrite: the cost of one task write-through commit with the
// list indexes and count triggers, at 10k tasks.
func BenchmarkTaskWrite(b *testing.B) {
	s := open(b, benchSchema(b))
	storetest.FillForBench(b, s, 10_000)
	storetest.BenchmarkTaskWrite(b, s, 10_000)
}
