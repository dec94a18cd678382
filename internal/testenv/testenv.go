// Package testenv runs the real pieces for end-to-end tests: a redis-server
// on a temporary unix socket, the cb and cbd binaries built once per test
// binary, and cbd processes with their own XDG directories.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Root returns the module root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries are the built cb, cb-cli and cbd, side by side in Dir (cb hands
// every command but `cb hook` over to the cb-cli beside it).
type Binaries struct {
	Dir, CB, CLI, CBD string
}

// Build compiles cb, cb-cli and cbd into dir the way `make build` does.
func Build(dir string) (Binaries, error) {
	b := Binaries{Dir: dir, CB: filepath.Join(dir, "cb"), CLI: filepath.Join(dir, "cb-cli"), CBD: filepath.Join(dir, "cbd")}
	for name, out := range map[string]string{"./cmd/cb": b.CB, "./cmd/cb-cli": b.CLI, "./cmd/cbd": b.CBD} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, name)
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if outp, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %v\n%s", name, err, outp)
		}
	}
	return b, nil
}

// Main is the body of a TestMain: it builds the binaries into *bin (in a
// temporary directory, removed afterwards), runs setup if given, runs the
// tests and undoes the setup. It returns the exit code for os.Exit.
func Main(m *testing.M, bin *Binaries, setup func() (undo func(), err error)) int {
	dir, err := os.MkdirTemp("", "cbbin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if setup != nil {
		undo, err := setup()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer undo()
	}
	return m.Run()
}

// Redis is a redis-server on a unix socket in a temp dir.
type Redis struct {
	Dir, Socket string
	cmd         *exec.Cmd
	done        chan struct{}
}

// URL is the redis URL of the server.
func (r *Redis) URL() string { return "unix://" + r.Socket }

// StartRedis starts redis-server (from PATH) on a fresh socket. extra are
// more redis-server arguments.
func StartRedis(extra ...string) (*Redis, error) {
	dir, err := os.MkdirTemp("", "cbr")
	if err != nil {
		return nil, err
	}
	r := &Redis{Dir: dir, Socket: filepath.Join(dir, "redis.sock")}
	return r, r.start(extra...)
}

func (r *Redis) start(extra ...string) error {
	args := append([]string{"--port", "0", "--unixsocket", r.Socket, "--unixsocketperm", "700",
		"--dir", r.Dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", filepath.Join(r.Dir, "redis.log")}, extra...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server (is it installed?): %w", err)
	}
	r.done = make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", r.Socket); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not listen on %s", r.Socket)
}

// Kill stops the server with SIGKILL.
func (r *Redis) Kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// Close stops the server and removes its dir.
func (r *Redis) Close() {
	r.Kill()
	_ = os.RemoveAll(r.Dir)
}

// Home is an isolated set of XDG directories for one cbd and its cb calls.
type Home struct {
	Dir string
	Env []string
}

// NewHome makes XDG dirs under a short temp dir (unix socket paths must stay
// short) removed at the end of the test.
func NewHome(t testing.TB, extraEnv ...string) *Home {
	t.Helper()
	dir, err := os.MkdirTemp("", "cbh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	h := &Home{Dir: dir}
	for _, d := range []string{"config", "data", "run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	h.Env = []string{
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"PATH=" + os.Getenv("PATH"),
		"NO_COLOR=1",
		// Many daemons run at once in tests: each takes a free HTTP port.
		"CB_HTTP_ADDR=127.0.0.1:0",
	}
	h.Env = append(h.Env, extraEnv...)
	return h
}

// WriteConfig writes the config.yaml cb and cbd read.
func (h *Home) WriteConfig(t testing.TB, yaml string) {
	t.Helper()
	p := filepath.Join(h.Dir, "config", "claudebench", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Daemon is a running cbd process.
type Daemon struct {
	Cmd  *exec.Cmd
	Log  *SyncBuffer
	done chan struct{}
	err  error
}

// SyncBuffer is a goroutine-safe buffer for process output.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartDaemon runs cbd with h's environment plus env and waits until it
// logs that it is ready. It is stopped (SIGKILL if still running) at the end
// of the test.
func StartDaemon(t testing.TB, bin Binaries, h *Home, env []string, args ...string) *Daemon {
	t.Helper()
	d := &Daemon{Log: &SyncBuffer{}, done: make(chan struct{})}
	d.Cmd = exec.Command(bin.CBD, args...)
	d.Cmd.Env = append(append([]string{}, h.Env...), env...)
	pr, pw := io.Pipe()
	d.Cmd.Stderr = pw
	d.Cmd.Stdout = d.Log
	if err := d.Cmd.Start(); err != nil {
		t.Fatalf("start cbd: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(d.Log, line)
			if strings.Contains(line, "cbd ready") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		d.err = d.Cmd.Wait()
		_ = pw.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.Kill()
		if t.Failed() {
			t.Logf("cbd log:\n%s", d.Log.String())
		}
	})
	select {
	case <-ready:
	case <-d.done:
		t.Fatalf("cbd exited before ready: %v\n%s", d.err, d.Log.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("cbd not ready after 20s:\n%s", d.Log.String())
	}
	return d
}

// Kill sends SIGKILL and waits.
func (d *Daemon) Kill() {
	if d.Cmd.Process != nil {
		_ = d.Cmd.Process.Kill()
	}
	<-d.done
}

// Signal sends sig without waiting.
func (d *Daemon) Signal(sig os.Signal) error { return d.Cmd.Process.Signal(sig) }

// Wait waits up to within for the process to exit and returns its exit code
// (-1 on timeout).
func (d *Daemon) Wait(within time.Duration) int {
	select {
	case <-d.done:
		return d.Cmd.ProcessState.ExitCode()
	case <-time.After(within):
		return -1
	}
}

// Result is one finished cb run.
type Result struct {
	Stdout, Stderr string
	Code           int
	Elapsed        time.Duration
}

// RunCB runs cb with args, stdin and h's environment plus env.
func RunCB(t testing.TB, bin Binaries, h *Home, env []string, stdin []byte, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.CB, args...)
	cmd.Env = append(append([]string{}, h.Env...), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run cb %v: %v", args, err)
		}
		r.Code = ee.ExitCode()
	}
	return r
}

// Restart starts the server again on the same socket and dir (after Kill).
func (r *Redis) Restart(extra ...string) error { return r.start(extra...) }

// Pid is the server's process id.
func (r *Redis) Pid() int { return r.cmd.Process.Pid }

// FreeAddr is a loopback host:port nobody listens on now, for a server
// that needs its address before it starts (cbd's HTTP listener, say).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
