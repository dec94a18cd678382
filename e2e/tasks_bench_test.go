package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/claudebench/cb/internal/testenv"
	rpc "github.com/claudebench/cb/protocol/client"
)

var rpsRe = regexp.MustCompile(`([0-9.]+) requests per second`)

// rawRate runs redis-benchmark against the same server and returns its
// requests per second for one command at the given concurrency.
func rawRate(b *testing.B, r *testenv.Redis, clients int, n int, cmd ...string) float64 {
	args := append([]string{"-s", r.Socket, "-c", strconv.Itoa(clients), "-n", strconv.Itoa(n), "-q"}, cmd...)
	out, err := exec.Command("redis-benchmark", args...).CombinedOutput()
	if err != nil {
		b.Fatalf("redis-benchmark: %v %s", err, out)
	}
	m := rpsRe.FindAllSubmatch(out, -1)
	if len(m) == 0 {
		b.Fatalf("redis-benchmark output: %s", out)
	}
	v, _ := strconv.ParseFloat(string(m[len(m)-1][1]), 64)
	return v
}

func benchEnv(b *testing.B) (*testenv.Redis, *rpc.Client, *testenv.Daemon) {
	r := testenv.NewRedis(b)
	h := testenv.NewHome(b, "CB_REDIS_URL="+r.URL(), "CB_HANDLERS_RATE_LIMIT=0", "CB_LOG_LEVEL=info")
	d := testenv.StartDaemon(b, bin, h, []string{"CB_INSTANCE_ID=bench"})
	return r, rpc.New(r.Client(b, testenv.PoolSize(80)), "bench"), d
}

// parallel runs total calls of f from c goroutines and returns calls/s.
func parallel(b *testing.B, c, total int, f func(i int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > total {
					return
				}
				if err := f(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds()
}

func call(c *rpc.Client, method string, params any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Call(ctx, method, params, rpc.Options{})
}

// BenchmarkTaskCreate: task.create round trips per second at concurrency 1
// and 32 (targets: ≥ 15,000/s at 32), each beside redis-benchmark's XADD
// rate against the same server at the same concurrency. Beside them, at
// concurrency 32: the rate of a call that does nothing (system.version),
// the ceiling the request transport itself puts on any method, and the CPU
// time one create costs cbd, redis-server and this client (from /proc and
// getrusage; steadier than rates on a shared machine).
func BenchmarkTaskCreate(b *testing.B) {
	r, client, d := benchEnv(b)
	for _, c := range []int{1, 32} {
		total := 2000
		if c > 1 {
			total = 20000
		}
		raw := rawRate(b, r, c, 100000, "XADD", "cb:stream:rawbench", "*", "f", "v")
		cbd0, redis0, self0 := cpuTime(b, d.Cmd.Process.Pid), cpuTime(b, r.Pid()), selfCPU(b)
		rate := parallel(b, c, total, func(i int) error {
			_, err := call(client, "task.create", map[string]any{"text": "bench " + strconv.Itoa(i)})
			return err
		})
		b.ReportMetric(rate, "c"+strconv.Itoa(c)+"-creates/s")
		b.ReportMetric(raw, "c"+strconv.Itoa(c)+"-raw-xadd/s")
		if c == 32 {
			perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(total) }
			b.ReportMetric(perOp(cpuTime(b, d.Cmd.Process.Pid)-cbd0), "cbd-cpu-µs/create")
			b.ReportMetric(perOp(cpuTime(b, r.Pid())-redis0), "redis-cpu-µs/create")
			b.ReportMetric(perOp(selfCPU(b)-self0), "client-cpu-µs/create")
		}
	}
	noop := parallel(b, 32, 20000, func(int) error {
		_, err := call(client, "system.version", nil)
		return err
	})
	b.ReportMetric(noop, "c32-noop-calls/s")
	b.ReportMetric(0, "ns/op")
}

// selfCPU is this process's user+system CPU time.
func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTaskCycle: create → claim → complete cycles per second with 8
// workers (target ≥ 5,000/s), beside redis-benchmark EVALSHA-free LPUSH rate.
func BenchmarkTaskCycle(b *testing.B) {
	r, client, _ := benchEnv(b)
	raw := rawRate(b, r, 8, 100000, "LPUSH", "rawbench", "x")
	rate := parallel(b, 8, 8000, func(i int) error {
		worker := "w" + strconv.Itoa(i%8)
		if _, err := call(client, "task.create", map[string]any{"text": "cycle " + strconv.Itoa(i)}); err != nil {
			return err
		}
		res, err := call(client, "task.claim", map[string]any{"workerId": worker, "maxTasks": 1})
		if err != nil {
			return err
		}
		var claimed struct{ Tasks []struct{ ID string } }
		_ = json.Unmarshal(res, &claimed)
		for _, t := range claimed.Tasks {
			if _, err := call(client, "task.complete", map[string]any{"id": t.ID, "workerId": worker}); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportMetric(rate, "cycles/s")
	b.ReportMetric(raw, "c8-raw-lpush/s")
	b.ReportMetric(0, "ns/op")
}
