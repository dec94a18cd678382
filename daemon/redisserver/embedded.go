package redisserver

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// prepareEmbedded serves miniredis on loopback with a random password. Its
// TTLs are advanced in real time by a ticker.
func prepareEmbedded(s *Server, o Options) error {
	m := miniredis.NewMiniRedis()
	password := randomHex(16)
	m.RequireAuth(password)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return fmt.Errorf("start embedded redis: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		const tick = 100 * time.Millisecond
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	o.Log.Warn("using the embedded in-memory Redis: events and tasks live in memory only and are lost when cbd stops; install redis-server or set redis.url to keep them",
		"addr", m.Addr())
	s.URL = fmt.Sprintf("redis://:%s@%s/0", password, m.Addr())
	s.Mode = ModeEmbedded
	s.release = func() {
		cancel()
		<-done
		m.Close()
	}
	s.halt = func(time.Duration) error { s.release(); return nil }
	return nil
}
