package postgres_test

import (
	"net/url"
	"testing"

	"github.com/claudebench/cb/daemon/store/postgres"
	"github.com/claudebench/cb/daemon/store/storetest"
)

// The list benchmarks compare a store of benchRows tasks with an empty one
// and one of smallRows (full pages, small table).
const (
	benchRows = 100_000
	smallRows = 2_000
)

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

// BenchmarkTaskList: a page costs about the same at 100k tasks as at 2k
// (ratio-2000) and a few times an empty page (ratio-0, which includes
// reading the 50 rows), at the head of the list and deep in it.
func BenchmarkTaskList(b *testing.B) {
	full, small := open(b, benchSchema(b)), open(b, benchSchema(b))
	storetest.FillForBench(b, full, benchRows)
	storetest.FillForBench(b, small, smallRows)
	for _, s := range []*postgres.Store{full, small} {
		if err := s.Maintain(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	storetest.BenchmarkTaskList(b, storetest.BenchStore{S: full, N: benchRows},
		storetest.BenchStore{S: open(b, benchSchema(b))}, storetest.BenchStore{S: small, N: smallRows})
}

// BenchmarkTaskWrite: the cost of one task write-through commit with the
// list indexes and count triggers, at 10k tasks.
func BenchmarkTaskWrite(b *testing.B) {
	s := open(b, benchSchema(b))
	storetest.FillForBench(b, s, 10_000)
	storetest.BenchmarkTaskWrite(b, s, 10_000)
}
