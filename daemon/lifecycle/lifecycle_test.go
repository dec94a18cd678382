package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// journal records what services did, in order.
type journal struct {
	mu  sync.Mutex
	log []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.log = append(j.log, s)
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.log, " ")
}

// expect fails t unless the services did what want lists.
func (j *journal) expect(t *testing.T, want string) {
	t.Helper()
	if got := j.String(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func loopService(j *journal, name string) *Func {
	return New(name, func(context.Context) error { j.add("start:" + name); return nil },
		func(ctx context.Context) error { <-ctx.Done(); j.add("stop:" + name); return nil })
}

func TestRunnerStartsInOrderStopsInReverse(t *testing.T) {
	j := &journal{}
	r := &Runner{ShutdownTimeout: time.Second}
	r.Add(loopService(j, "a"), loopService(j, "b"), loopService(j, "c"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, func() { j.add("ready"); cancel() }) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	j.expect(t, "start:a start:b start:c ready stop:c stop:b stop:a")
}

func TestRunnerFailedStartStopsWhatStarted(t *testing.T) {
	j := &journal{}
	r := &Runner{ShutdownTimeout: time.Second}
	boom := errors.New("port taken")
	never := loopService(j, "never")
	r.Add(loopService(j, "a"), loopService(j, "b"), New("bad", func(context.Context) error { return boom }, nil), never)
	err := r.Run(context.Background(), func() { t.Error("ready after a failed start") })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "start bad") {
		t.Fatalf("err %v", err)
	}
	j.expect(t, "start:a start:b stop:b stop:a")
}

func TestRunnerServiceStoppingByItselfStopsAll(t *testing.T) {
	j := &journal{}
	r := &Runner{ShutdownTimeout: time.Second}
	crash := errors.New("serve failed")
	r.Add(loopService(j, "a"), New("b", nil, func(context.Context) error { return crash }))
	err := r.Run(context.Background(), nil)
	if !errors.Is(err, crash) {
		t.Fatalf("err %v", err)
	}
	j.expect(t, "start:a stop:a")
}

func TestRunnerShutdownDeadline(t *testing.T) {
	j := &journal{}
	r := &Runner{ShutdownTimeout: 200 * time.Millisecond}
	stuck := make(chan struct{})
	defer close(stuck)
	r.Add(loopService(j, "a"), New("stuck", nil, func(ctx context.Context) error { <-stuck; return nil }), loopService(j, "c"))
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	err := r.Run(ctx, cancel)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Run took %v with a 200ms shutdown timeout", took)
	}
	if err != nil {
		t.Fatal(err)
	}
	// a is still told to stop after the deadline, so it ends too.
	deadline := time.Now().Add(time.Second)
	for !strings.Contains(j.String(), "stop:a") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := j.String(); !strings.HasPrefix(got, "start:a start:c stop:c") || !strings.Contains(got, "stop:a") {
		t.Fatalf("got %q", got)
	}
}

func TestLockSecondHolderNamesFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	l, err := Acquire(dir, "first")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "second")
	var le *LockedError
	if !errors.As(err, &le) || le.Owner.PID != os.Getpid() || le.Owner.InstanceID != "first" {
		t.Fatalf("second Acquire: %v (%+v)", err, le)
	}
	if !strings.Contains(err.Error(), "pid ") {
		t.Errorf("message does not name the pid: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "second")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer l2.Release()
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("runtime dir: %v %v", st.Mode(), err)
	}
}

func FuzzParseOwner(f *testing.F) {
	f.Add([]byte("pid 123\ninstance first\n"))
	f.Add([]byte("pid -1\n"))
	f.Add([]byte("pid 99999999999999999999\ninstance \x00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := ParseOwner(data)
		if o.PID < 0 {
			t.Fatalf("negative pid %d", o.PID)
		}
		if round := ParseOwner(fmt.Appendf(nil, "pid %d\ninstance %s\n", o.PID, o.InstanceID)); o.PID > 0 && !strings.ContainsAny(o.InstanceID, "\r\n") && round != o {
			t.Fatalf("round trip: %+v became %+v", o, round)
		}
	})
}
