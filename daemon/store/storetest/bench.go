package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/claudebench/cb/daemon/store"
	"github.com/claudebench/cb/protocol/api"
)

// benchTask returns the i-th task of a benchmark fill: ids and times as
// production makes them ("t-<ms><6 digits>", all one length); 30% pending
// (unassigned, priorities 0..100), 10% in progress (assigned to one of 20
// workers), 60% completed; every other task belongs to one of 20
// sessions (so that a session fills a page at any size).
func benchTask(i int) store.Task {
	ms := int64(1_760_000_000_000) + int64(i)
	task := store.Task{Task: api.Task{
		ID:        fmt.Sprintf("t-%d%06d", ms, i%1_000_000),
		Text:      "benchmark task " + fmt.Sprint(i),
		Status:    store.StatusCompleted,
		Priority:  (i * 37) % 101,
		CreatedAt: api.TimeOf(time.UnixMilli(ms)),
		UpdatedAt: api.TimeOf(time.UnixMilli(ms + 500)),
		Version:   1,
	}}
	switch i % 10 {
	case 0, 3, 6:
		task.Status = store.StatusPending
	case 9:
		task.Status = store.StatusInProgress
		task.AssignedTo = fmt.Sprintf("w-%d", i%20)
	}
	if i%2 == 0 {
		task.Metadata = json.RawMessage(fmt.Sprintf(`{"sessionId":"s-%d"}`, i%40))
	}
	return task
}

// FillForBench writes n benchmark tasks to s in batches.
func FillForBench(b *testing.B, s store.Store, n int) {
	b.Helper()
	const batch = 2000
	for start := 0; start < n; start += batch {
		ts := make([]store.Task, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			ts = append(ts, benchTask(i))
		}
		if err := s.TaskUpsertMany(b.Context(), ts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchListCases are the list calls BenchmarkTaskList times: a page of 50
// in the default order, the head of the queue, one session's tasks, one
// worker's, and a page deep in the list (half-way, reached by cursor; for
// an empty store, the first page).
var BenchListCases = []struct {
	Name string
	P    store.TaskListParams
	Deep bool
}{
	{"first", store.TaskListParams{Limit: 50}, false},
	{"queue", store.TaskListParams{Status: store.StatusPending, OrderBy: "queue", Limit: 50}, false},
	{"session", store.TaskListParams{Session: "s-8", Limit: 50}, false},
	{"assignee", store.TaskListParams{AssignedTo: "w-9", Limit: 50}, false},
	{"deep", store.TaskListParams{Limit: 50}, true},
}

// BenchStore is a store and the number of benchmark tasks it holds.
type BenchStore struct {
	S store.Store
	N int
}

// deepParams returns p, or for a deep case p with the cursor of the middle
// of bs, walked to page by page as a client paging through would.
func deepParams(b *testing.B, bs BenchStore, p store.TaskListParams, deep bool) store.TaskListParams {
	if !deep {
		return p
	}
	for range bs.N / 2 / p.Limit {
		res, err := bs.S.TaskList(b.Context(), p)
		if err != nil {
			b.Fatal(err)
		}
		p.After = res.NextCursor
	}
	return p
}

// BenchmarkTaskList times each of BenchListCases on full and reports,
// beside ns/op, the same call on each of bases (ns/op-<N>, measured in the
// same run) and the ratio to it (ratio-<N>). A base of 0 tasks answers
// empty pages, so its ratio includes reading 50 rows; a base of a few
// thousand reads full pages, so its ratio is the cost of the store's size
// alone.
func BenchmarkTaskList(b *testing.B, full BenchStore, bases ...BenchStore) {
	ctx := b.Context()
	for _, c := range BenchListCases {
		b.Run(c.Name, func(b *testing.B) {
			call := func(s store.Store, p store.TaskListParams) {
				if _, err := s.TaskList(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			const baseOps = 300
			baseNs := make([]float64, len(bases))
			for i, base := range bases {
				p := deepParams(b, base, c.P, c.Deep)
				start := time.Now()
				for range baseOps {
					call(base.S, p)
				}
				baseNs[i] = float64(time.Since(start).Nanoseconds()) / baseOps
			}
			p := deepParams(b, full, c.P, c.Deep)
			b.ResetTimer()
			for b.Loop() {
				call(full.S, p)
			}
			b.StopTimer()
			per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			for i, base := range bases {
				b.ReportMetric(baseNs[i], fmt.Sprintf("ns/op-%d", base.N))
				b.ReportMetric(per/baseNs[i], fmt.Sprintf("ratio-%d", base.N))
			}
		})
	}
}

// BenchmarkTaskWrite times the write-through of one task change (one
// commit) on a store holding n tasks: a new pending task, and a status
// change of an existing one, as claim and complete make. Beside ns/op it
// reports the process's CPU time per write (cpu-ns/op), steadier than wall
// time on a shared machine.
func BenchmarkTaskWrite(b *testing.B, s store.Store, n int) {
	ctx := b.Context()
	b.Run("insert", func(b *testing.B) {
		i := n
		cpu := cpuTime()
		for b.Loop() {
			task := benchTask(i)
			task.Status = store.StatusPending
			if err := s.TaskUpsertMany(ctx, []store.Task{task}); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("update", func(b *testing.B) {
		i, v := 0, int64(1)
		statuses := []string{store.StatusInProgress, store.StatusCompleted, store.StatusPending}
		cpu := cpuTime()
		for b.Loop() {
			task := benchTask(i % n)
			v++
			task.Version = v + 1
			task.Status = statuses[int(v)%3]
			task.AssignedTo = "w-1"
			task.UpdatedAt = api.TimeOf(task.UpdatedAt.Add(time.Duration(v) * time.Millisecond))
			if err := s.TaskUpsertMany(ctx, []store.Task{task}); err != nil {
				b.Fatal(err)
			}
			i += 7919 // spread over the table, not one hot page
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	})
}
