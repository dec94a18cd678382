package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/claudebench/cb/daemon/store/sqlite"
	"github.com/claudebench/cb/daemon/store/storetest"
)

// The list benchmarks compare a store of benchRows tasks with an empty one
// and one of smallRows (full pages, small table).
const (
	benchRows = 100_000
	smallRows = 2_000
)

func openBench(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "cb.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkTaskList: a page costs about the same at 100k tasks as at 2k
// (ratio-2000) and a few times an empty page (ratio-0, which includes
// reading the 50 rows), at the head of the list and deep in it.
func BenchmarkTaskList(b *testing.B) {
	full, small := openBench(b), openBench(b)
	storetest.FillForBench(b, full, benchRows)
	storetest.FillForBench(b, small, smallRows)
	storetest.BenchmarkTaskList(b, storetest.BenchStore{S: full, N: benchRows},
		storetest.BenchStore{S: openBench(b)}, storetest.BenchStore{S: small, N: smallRows})
}

// BenchmarkTaskWrite: the cost of one task write-through commit with the
// list indexes and count triggers, at 10k tasks.
func BenchmarkTaskWrite(b *testing.B) {
	s := openBench(b)
	storetest.FillForBench(b, s, 10_000)
	storetest.BenchmarkTaskWrite(b, s, 10_000)
}
