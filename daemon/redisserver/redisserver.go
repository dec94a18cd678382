// Package redisserver decides which Redis cbd uses and, when none is
// configured, runs one: a supervised private redis-server on a unix socket
// (managed mode) or an in-process Redis-compatible server (embedded mode).
// Whatever it picks, it writes the URL to the runtime dir for cb to find.
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
	"time"

	"github.com/claudebench/cb/protocol"
)

// Modes.
const (
	ModeExternal = "external"
	ModeManaged  = "managed"
	ModeEmbedded = "embedded"
)

// Options say how to pick and run Redis.
type Options struct {
	URL        string // redis.url; set → external
	Mode       string // redis.mode: auto, managed, embedded
	ServerPath string // redis.server
	Dirs       protocol.Dirs
	Log        *slog.Logger
}

// Server is the Redis cbd talks to.
type Server struct {
	URL  string
	Mode string
	stop func() error
	addr string
}

// Start picks and, if needed, starts Redis, then writes its URL to the
// address file.
func Start(ctx context.Context, o Options) (*Server, error) {
	if err := os.MkdirAll(o.Dirs.Runtime, 0o700); err != nil {
		return nil, fmt.Errorf("runtime dir: %w", err)
	}
	if err := os.Chmod(o.Dirs.Runtime, 0o700); err != nil {
		return nil, fmt.Errorf("runtime dir: %w", err)
	}
	var s *Server
	var err error
	switch {
	case o.URL != "":
		s = &Server{URL: o.URL, Mode: ModeExternal, stop: func() error { return nil }}
	case o.Mode == ModeEmbedded:
		s, err = startEmbedded(o)
	case o.Mode == ModeManaged || o.Mode == "auto" || o.Mode == "":
		path, lookErr := exec.LookPath(o.ServerPath)
		switch {
		case lookErr == nil:
			s, err = startManaged(ctx, o, path)
		case o.Mode == ModeManaged:
			return nil, fmt.Errorf("redis.mode is managed but %q is not on PATH: %w", o.ServerPath, lookErr)
		default:
			o.Log.Info("redis-server not found on PATH; using the embedded server", "looked_for", o.ServerPath)
			s, err = startEmbedded(o)
		}
	default:
		return nil, fmt.Errorf("redis.mode %q: want auto, managed or embedded", o.Mode)
	}
	if err != nil {
		return nil, err
	}
	s.addr = o.Dirs.AddrFile()
	if err := writeFileAtomic(s.addr, []byte(s.URL+"\n"), 0o600); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("write redis address: %w", err)
	}
	return s, nil
}

// Close stops a server cbd runs and removes the address file if it is still
// ours.
func (s *Server) Close() error {
	if data, err := os.ReadFile(s.addr); err == nil && string(data) == s.URL+"\n" {
		_ = os.Remove(s.addr)
	}
	return s.stop()
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
