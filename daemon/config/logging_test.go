package config

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRepeatHandler(t *testing.T) {
	var buf bytes.Buffer
	h := NewRepeatHandler(slog.NewTextHandler(&buf, nil), 50*time.Millisecond)
	log := slog.New(h)
	for i := 0; i < 100; i++ {
		log.Warn("redis unavailable", "op", "read", "err", errors.New("dial "+strings.Repeat("x", i%3)))
		log.Info("info passes", "i", i)
	}
	log.Warn("redis unavailable", "op", "write") // other attributes: its own line
	if n := strings.Count(buf.String(), `msg="redis unavailable" op=read`); n != 1 {
		t.Fatalf("%d lines for one repeated warning:\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), "info passes"); n != 100 {
		t.Fatalf("info lines: %d", n)
	}
	if !strings.Contains(buf.String(), "op=write") {
		t.Fatalf("a different warning was held back:\n%s", buf.String())
	}
	time.Sleep(60 * time.Millisecond)
	buf.Reset()
	log.Warn("redis unavailable", "op", "read", "err", "x")
	if !strings.Contains(buf.String(), "repeated=99") {
		t.Fatalf("after the window: %q", buf.String())
	}
	// Attributes added with With share the state and keep keys apart.
	buf.Reset()
	a, b := log.With("component", "a"), log.With("component", "b")
	a.Error("boom")
	a.Error("boom")
	b.Error("boom")
	if n := strings.Count(buf.String(), "boom"); n != 2 {
		t.Fatalf("With: %d lines:\n%s", n, buf.String())
	}
}
