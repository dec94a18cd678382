package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/claudebench/cb/daemon/store/sqlite"
	"github.com/claudebench/cb/daemon/store/storetest"
)

// benchRows is the size of the store the list benchmarks compare with an
// empty one.
const benchRows = 100_000

func openBench(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "cb.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkTaskList: a page costs about the same at 100k tasks as at none
// (see the ratio metric), at the head of the list and deep in it.
func BenchmarkTaskList(b *testing.B) {
	full := openBench(b)
	storetest.FillForBench(b, full, benchRows)
	storetest.BenchmarkTaskList(b, full, openBench(b), benchRows)
}

// BenchmarkTaskWrite: the cost of one task write-through commit with the
// list indexes and count triggers, at 10k tasks.
func BenchmarkTaskWrite(b *testing.B) {
	s := openBench(b)
	storetest.FillForBench(b, s, 10_000)
	storetest.BenchmarkTaskWrite(b, s, 10_000)
}
