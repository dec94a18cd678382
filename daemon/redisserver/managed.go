package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxSocketPath is below the sun_path limit of Linux (108) and macOS (104).
const maxSocketPath = 100

// managed supervises a private redis-server.
type managed struct {
	o       Options
	path    string
	sock    string
	dataDir string
	pidFile string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	quit   chan struct{} // closed by stop: the supervisor restarts nothing more
	done   chan struct{} // closed when the supervisor has returned
}

// prepareManaged checks what running redis-server needs; Start runs it.
func prepareManaged(s *Server, o Options, path string) error {
	m := &managed{
		o: o, path: path,
		sock:    filepath.Join(o.Dirs.Runtime, "redis.sock"),
		dataDir: filepath.Join(o.Dirs.Data, "redis"),
		pidFile: filepath.Join(o.Dirs.Runtime, "redis.pid"),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if len(m.sock) > maxSocketPath {
		return fmt.Errorf("managed redis: socket path %s is longer than %d bytes; set XDG_RUNTIME_DIR to a shorter dir or redis.url", m.sock, maxSocketPath)
	}
	if err := os.MkdirAll(m.dataDir, 0o700); err != nil {
		return fmt.Errorf("managed redis data dir: %w", err)
	}
	s.URL, s.Mode = "unix://"+m.sock, ModeManaged
	s.run = m.start
	s.halt = m.stop
	return nil
}

// start runs redis-server and its supervisor. Only the owner of the
// runtime dir's lock gets here, so a redis-server named by the pid file
// was left by an earlier owner that is gone.
func (m *managed) start(ctx context.Context) error {
	m.killStale()
	if err := m.spawn(); err != nil {
		close(m.done)
		return err
	}
	if err := waitReady(ctx, m.ping, 10*time.Second); err != nil {
		close(m.done)
		_ = m.stopProcess(5 * time.Second)
		return fmt.Errorf("managed redis-server on %s: %w", m.sock, err)
	}
	go m.supervise()
	m.o.Log.Info("managed redis-server started", "socket", m.sock, "data", m.dataDir, "aof", true)
	return nil
}

func (m *managed) spawn() error {
	_ = os.Remove(m.sock)
	logFile, err := os.OpenFile(filepath.Join(m.dataDir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("managed redis log: %w", err)
	}
	cmd := exec.Command(m.path,
		"--port", "0",
		"--unixsocket", m.sock,
		"--unixsocketperm", "700",
		"--dir", m.dataDir,
		"--appendonly", "yes",
		"--appendfsync", "everysec",
		"--save", "",
		"--daemonize", "no",
		"--logfile", "",
		// Task hashes stay listpacks (one allocation) with texts and
		// metadata up to 1 KiB instead of 64 B: a task with a 224-byte
		// text takes 1638 B of Redis instead of 2246 B. The field count
		// stays ~12, so listpack lookups stay short. (The ziplist name is
		// the one Redis 6 knows too; 7 takes it as an alias.)
		"--hash-max-ziplist-value", "1024",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	// Linux delivers the parent-death signal when the spawning *thread*
	// exits, so the goroutine that starts redis-server keeps its thread
	// locked until the child is gone.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	if err := <-started; err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", m.path, err)
	}
	_ = os.WriteFile(m.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	m.mu.Lock()
	m.cmd, m.exited = cmd, exited
	m.mu.Unlock()
	return nil
}

// supervise restarts redis-server whenever it dies, until stop.
func (m *managed) supervise() {
	defer close(m.done)
	delay := 100 * time.Millisecond
	for {
		m.mu.Lock()
		exited := m.exited
		m.mu.Unlock()
		select {
		case <-exited:
		case <-m.quit:
			return
		}
		m.o.Log.Error("managed redis-server exited; restarting", "socket", m.sock, "in", delay)
		select {
		case <-time.After(delay):
		case <-m.quit:
			return
		}
		if err := m.spawn(); err != nil {
			m.o.Log.Error("restart managed redis-server", "err", err)
			if delay *= 2; delay > 5*time.Second {
				delay = 5 * time.Second
			}
			// spawn failed: nothing will close exited, so make one that is.
			closed := make(chan struct{})
			close(closed)
			m.mu.Lock()
			m.exited = closed
			m.mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-m.quit:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := waitReady(ctx, m.ping, 10*time.Second)
		cancel()
		if err == nil {
			m.o.Log.Info("managed redis-server restarted", "socket", m.sock)
			delay = 100 * time.Millisecond
		}
	}
}

// stop ends supervision, then redis-server: SIGTERM (with SIGCONT, so a
// stopped server handles it and writes its AOF), SIGKILL after within.
func (m *managed) stop(within time.Duration) error {
	close(m.quit)
	<-m.done
	return m.stopProcess(within)
}

func (m *managed) stopProcess(within time.Duration) error {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-exited:
	case <-time.After(within):
		_ = cmd.Process.Kill()
		<-exited
	}
	// Only the pid file of the server this cbd ran: a newer owner's
	// would name another pid.
	if data, err := os.ReadFile(m.pidFile); err == nil && strings.TrimSpace(string(data)) == strconv.Itoa(cmd.Process.Pid) {
		_ = os.Remove(m.pidFile)
	}
	return nil
}

// ping speaks just enough RESP to ask a unix-socket redis-server for PONG.
func (m *managed) ping(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", m.sock)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return errors.New("unexpected reply to PING: " + strings.TrimSpace(line))
	}
	return nil
}

// killStale stops a redis-server an earlier cbd left running on our socket
// (e.g. after cbd was killed on a platform without parent-death signals).
// Called only by the holder of the runtime dir's lock: a running cbd holds
// that lock, so the server named here is not a live cbd's.
func (m *managed) killStale() {
	data, err := os.ReadFile(m.pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil || p.Signal(syscall.Signal(0)) != nil {
		return
	}
	if !m.isRedis(pid) {
		return
	}
	m.o.Log.Warn("stopping a managed redis-server left by an earlier cbd", "pid", pid)
	_ = p.Signal(syscall.SIGTERM)
	for i := 0; i < 100 && p.Signal(syscall.Signal(0)) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// isRedis checks /proc where it exists; elsewhere it trusts the pid file.
func (m *managed) isRedis(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || !dirExists("/proc/self")
	}
	return strings.Contains(string(cmdline), "redis")
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
