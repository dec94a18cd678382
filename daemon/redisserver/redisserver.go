// Package redisserver decides which Redis cbd uses and, when none is
// configured, runs one: a supervised private redis-server on a unix socket
// (managed mode) or an in-process Redis-compatible server (embedded mode).
// Only the cbd holding the runtime dir's lock runs one and writes its URL to
// the runtime dir for cb to find; another cbd of the same user joins the
// Redis named there and never starts, stops or deletes anything.
package redisserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/claudebench/cb/protocol"
)

// Modes.
const (
	ModeExternal = "external"
	ModeManaged  = "managed"
	ModeEmbedded = "embedded"
	// ModeJoined is a cbd using the Redis another cbd of the same runtime
	// dir runs (read from its address file).
	ModeJoined = "joined"
)

// Options say how to pick and run Redis.
type Options struct {
	URL        string // redis.url; set → external
	Mode       string // redis.mode: auto, managed, embedded
	ServerPath string // redis.server
	Dirs       protocol.Dirs
	Log        *slog.Logger
	// Owner is set when this cbd holds the runtime dir's lock: only the
	// owner runs a Redis and writes (and at the end removes) the address
	// file. A cbd that is not the owner and has no URL joins the owner's
	// Redis through the address file.
	Owner bool
	// OwnerSince is when the owner took the lock: a joiner waits for an
	// address file written after it, not one an earlier cbd left behind.
	OwnerSince time.Time
	// JoinWait bounds that wait (default 10 s).
	JoinWait time.Duration
}

// Server is the Redis cbd talks to. Built by Prepare, it is also the
// life-cycle service that runs it (lifecycle.Service): Start runs and
// supervises a managed redis-server and publishes the address; Stop stops
// what Start started and removes only the files this cbd wrote.
type Server struct {
	URL  string
	Mode string

	log     *slog.Logger
	addr    string                          // address file to write ("" when not the owner)
	run     func(ctx context.Context) error // Start's work
	halt    func(within time.Duration) error
	release func() // undoes Prepare when Start never ran

	mu      sync.Mutex
	started bool
	stopped chan struct{}
	once    sync.Once
}

// Prepare picks Redis without touching a shared file or process: for an
// external URL it only records it; an embedded server is started (binding
// its listener is part of validating the configuration); a managed
// redis-server is looked up and its directories made, to be run by Start; a
// joiner reads the owner's address file.
func Prepare(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{log: o.Log, stopped: make(chan struct{}),
		run: func(context.Context) error { return nil }, halt: func(time.Duration) error { return nil }, release: func() {}}
	if o.Owner {
		s.addr = o.Dirs.AddrFile()
	}
	switch {
	case o.URL != "":
		s.URL, s.Mode = o.URL, ModeExternal
	case !o.Owner:
		url, err := readJoinAddr(ctx, o)
		if err != nil {
			return nil, err
		}
		s.URL, s.Mode = url, ModeJoined
	case o.Mode == ModeEmbedded:
		return s, prepareEmbedded(s, o)
	case o.Mode == ModeManaged || o.Mode == "auto" || o.Mode == "":
		path, lookErr := exec.LookPath(o.ServerPath)
		switch {
		case lookErr == nil:
			return s, prepareManaged(s, o, path)
		case o.Mode == ModeManaged:
			return nil, fmt.Errorf("redis.mode is managed but %q is not on PATH: %w", o.ServerPath, lookErr)
		default:
			o.Log.Info("redis-server not found on PATH; using the embedded server", "looked_for", o.ServerPath)
			return s, prepareEmbedded(s, o)
		}
	default:
		return nil, fmt.Errorf("redis.mode %q: want auto, managed or embedded", o.Mode)
	}
	return s, nil
}

// readJoinAddr waits for the owner's address file, written after the owner
// took the lock.
func readJoinAddr(ctx context.Context, o Options) (string, error) {
	wait := o.JoinWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	path := o.Dirs.AddrFile()
	for {
		st, err := os.Stat(path)
		if err == nil && !st.ModTime().Before(o.OwnerSince) {
			data, err := os.ReadFile(path)
			if url := strings.TrimSpace(string(data)); err == nil && url != "" {
				return url, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("joining the running cbd's Redis: no address in %s after %v (is that cbd still starting?)", path, wait)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Name implements lifecycle.Service.
func (s *Server) Name() string { return "redis (" + s.Mode + ")" }

// Start runs Redis where cbd runs it, then publishes its address.
func (s *Server) Start(ctx context.Context) error {
	if err := s.run(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	if s.addr != "" {
		if err := writeFileAtomic(s.addr, []byte(s.URL+"\n"), 0o600); err != nil {
			s.halt(5 * time.Second)
			return fmt.Errorf("write redis address: %w", err)
		}
	}
	return nil
}

// Stop withdraws the address (if this cbd wrote it and it is unchanged) and
// stops what Start started, in the background.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.removeAddr()
		go func() {
			defer close(s.stopped)
			if err := s.halt(10 * time.Second); err != nil {
				s.log.Warn("stop redis", "err", err)
			}
		}()
	})
}

// Stopped implements lifecycle.Service.
func (s *Server) Stopped() <-chan struct{} { return s.stopped }

// Err implements lifecycle.Service: a supervised Redis never stops by
// itself (it is restarted).
func (s *Server) Err() error { return nil }

// Close releases what Prepare took when Start never ran (an embedded
// server's listener); after Start, Stop is what ends the server.
func (s *Server) Close() {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		s.release()
	}
}

func (s *Server) removeAddr() {
	if s.addr == "" {
		return
	}
	if data, err := os.ReadFile(s.addr); err == nil && string(data) == s.URL+"\n" {
		_ = os.Remove(s.addr)
	}
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// waitReady polls until ping succeeds or the deadline passes.
func waitReady(ctx context.Context, ping func(context.Context) error, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		last = ping(pctx)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("redis did not become ready"), last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
