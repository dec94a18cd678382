package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
)

// spawn runs one process with stdin and returns how long it took.
func spawn(b *testing.B, path string, env []string, stdin []byte, args ...string) time.Duration {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// BenchmarkHookRoundTrip times `cb hook pre_tool` with a typical 400-byte
// payload against a running cbd, interleaved with a bare Go binary that
// reads stdin and prints a fixed JSON (the floor of any command hook), and
// reports both medians and their ratio. Targets: median ≤ 5 ms, ratio ≤ 2.
func BenchmarkHookRoundTrip(b *testing.B) {
	bare := filepath.Join(bin.Dir, "bare")
	if out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bare, "./testdata/bare").CombinedOutput(); err != nil {
		b.Fatalf("build bare: %v %s", err, out)
	}
	h := testenv.NewHome(b, "CB_REDIS_URL="+redis.URL())
	testenv.StartDaemon(b, bin, h, []string{"CB_INSTANCE_ID=bench-hook"})
	in, err := readFixture("pre_tool_typical.json")
	if err != nil {
		b.Fatal(err)
	}
	// The calls rotate over 32 sessions: one session at this pace would
	// exceed the default rate limit (handlers.rate_limit, 100/s per
	// session), and the benchmark would time rejections, not decisions.
	var ins [][]byte
	for i := 0; i < 32; i++ {
		ins = append(ins, bytes.ReplaceAll(in, []byte("9f3c2a4e-1b7d-4c55-8e2a-3d6f0b1c2e4f"), fmt.Appendf(nil, "bench-session-%02d", i)))
	}
	// Warm both (page cache, the script cache of Redis).
	for i := 0; i < 10; i++ {
		spawn(b, bare, h.Env, in)
		spawn(b, bin.CB, h.Env, ins[i%len(ins)], "hook", "pre_tool")
	}
	var bareT, hookT []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bareT = append(bareT, spawn(b, bare, h.Env, in))
		hookT = append(hookT, spawn(b, bin.CB, h.Env, ins[i%len(ins)], "hook", "pre_tool"))
	}
	b.StopTimer()
	mb, mh := median(bareT), median(hookT)
	b.ReportMetric(ms(mb), "bare-median-ms")
	b.ReportMetric(ms(mh), "hook-median-ms")
	b.ReportMetric(float64(mh)/float64(mb), "ratio")
	b.ReportMetric(0, "ns/op")
}
