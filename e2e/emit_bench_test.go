package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	"github.com/claudebench/cb/protocol"
)

// BenchmarkEmit times `cb emit bench.x -` of 100,000 NDJSON events end to
// end (process start to exit, stdin from a file), against a fresh
// redis-server, and reports it as events/s beside the raw pipelined XADD
// rate of the same server in the same run (redis-benchmark -P 64 -n 200000
// XADD cb:stream:rawbench * f v, the median of the runs, reported as
// raw-xadd/s) and their ratio emit/raw (target ≥ 0.2). The raw rate is an
// upper bound cb emit cannot reach: its entries carry ~200-byte envelopes,
// not "f v", which costs Redis about twice the time per XADD.
func BenchmarkEmit(b *testing.B) {
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		b.Skip("redis-benchmark not installed")
	}
	r := testenv.NewRedis(b)
	h := testenv.NewHome(b, "CB_REDIS_URL="+r.URL())
	const events = 100_000
	input := filepath.Join(h.Dir, "events.ndjson")
	if err := os.WriteFile(input, shellNDJSON(events, nil), 0o600); err != nil {
		b.Fatal(err)
	}
	rdb := r.Client(b)

	emit := func() (time.Duration, string) {
		in, err := os.Open(input)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		cmd := exec.Command(bin.CB, "emit", "bench.x", "-")
		cmd.Env = h.Env
		cmd.Stdin = in
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("cb emit: %v\n%s", err, stderr.String())
		}
		return time.Since(start), strings.TrimSpace(stderr.String())
	}
	rawXAdd := func() float64 {
		out, err := exec.Command("redis-benchmark", "-s", r.Socket, "-P", "64", "-n", "200000", "-q",
			"XADD", "cb:stream:rawbench", "*", "f", "v").CombinedOutput()
		if err != nil {
			b.Fatalf("redis-benchmark: %v\n%s", err, out)
		}
		raw, err := parseRedisBenchmark(string(out))
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	emit() // warm the page cache and Redis

	// Emit runs and raw runs alternate (3 to 5 of each: `make bench` asks
	// 300 iterations for the latency benchmarks, and 300 × 100,000 events
	// would take minutes), so that the load of a busy machine weighs on
	// both alike.
	rounds := min(max(b.N, 3), 5)
	var total time.Duration
	var summary string
	var raws []float64
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		d, s := emit()
		total += d
		summary = s
		b.StopTimer()
		raws = append(raws, rawXAdd())
		b.StartTimer()
	}
	b.StopTimer()
	if n, err := rdb.XLen(context.Background(), protocol.StreamKey("bench.x")).Result(); err != nil || n != int64(events*(rounds+1)) {
		b.Fatalf("XLEN %d (%v), want %d", n, err, events*(rounds+1))
	}
	emitRate := float64(events*rounds) / total.Seconds()
	slices.Sort(raws)
	raw := raws[len(raws)/2]
	b.Logf("cb emit: %.0f events/s over %d runs (last: %s); redis-benchmark XADD/s: %.0f", emitRate, rounds, summary, raws)
	b.ReportMetric(emitRate, "events/s")
	b.ReportMetric(raw, "raw-xadd/s")
	b.ReportMetric(emitRate/raw, "emit/raw")
	b.ReportMetric(0, "ns/op")
}

var rpsRE = regexp.MustCompile(`([0-9.]+) requests per second`)

// parseRedisBenchmark reads the final "N requests per second" of
// redis-benchmark -q (earlier progress lines are separated by \r).
func parseRedisBenchmark(out string) (float64, error) {
	m := rpsRE.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return 0, fmt.Errorf("no requests per second in redis-benchmark output %q", out)
	}
	return strconv.ParseFloat(m[len(m)-1][1], 64)
}
