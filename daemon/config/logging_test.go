package config

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRepeatHandler(t *testing.T) {
	var buf bytes.Buffer
	h := NewRepeatHandler(slog.NewTextHandler(&buf, nil), 30*time.Second)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	emit := func(h slog.Handler, at time.Duration, level slog.Level, msg string, attrs ...slog.Attr) {
		r := slog.NewRecord(t0.Add(at), level, msg, 0)
		r.AddAttrs(attrs...)
		if err := h.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		at := time.Duration(i) * 100 * time.Millisecond // 10 s of a warning every 100 ms
		emit(h, at, slog.LevelWarn, "redis unavailable", slog.String("op", "read"), slog.String("err", strings.Repeat("x", i%3)))
		emit(h, at, slog.LevelInfo, "info passes", slog.Int("i", i))
	}
	emit(h, time.Second, slog.LevelWarn, "redis unavailable", slog.String("op", "write")) // other attributes: its own line
	if n := strings.Count(buf.String(), `msg="redis unavailable" op=read`); n != 1 {
		t.Fatalf("%d lines for one repeated warning:\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), "info passes"); n != 100 {
		t.Fatalf("info lines: %d", n)
	}
	if !strings.Contains(buf.String(), "op=write") {
		t.Fatalf("a different warning was held back:\n%s", buf.String())
	}
	buf.Reset()
	emit(h, 31*time.Second, slog.LevelWarn, "redis unavailable", slog.String("op", "read"))
	if !strings.Contains(buf.String(), "repeated=99") {
		t.Fatalf("after the window: %q", buf.String())
	}
	// Attributes added with WithAttrs share the state and keep keys apart.
	buf.Reset()
	a, b := h.WithAttrs([]slog.Attr{slog.String("component", "a")}), h.WithAttrs([]slog.Attr{slog.String("component", "b")})
	emit(a, 0, slog.LevelError, "boom")
	emit(a, time.Second, slog.LevelError, "boom")
	emit(b, time.Second, slog.LevelError, "boom")
	if n := strings.Count(buf.String(), "boom"); n != 2 {
		t.Fatalf("WithAttrs: %d lines:\n%s", n, buf.String())
	}
}
