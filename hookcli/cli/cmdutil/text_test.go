package cmdutil

import (
	"testing"
	"time"
)

func TestTruncate(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"日本語のテキスト", 4, "日本語…"},
		{"abc", 1, "…"},
		{"abc", 0, "abc"},
	}
	for _, c := range cases {
		if got := Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := OneLine("a\tb\nc\x1b[31m"); got != "a b c [31m" {
		t.Errorf("oneLine = %q", got)
	}
}

func TestHumanAge(t *testing.T) {
	cases := map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 59 * time.Second: "59s", 90 * time.Second: "1m",
		59 * time.Minute: "59m", 3 * time.Hour: "3h", 49 * time.Hour: "2d",
	}
	for d, want := range cases {
		if got := HumanAge(d); got != want {
			t.Errorf("HumanAge(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.FixedZone("x", 3600))
	cases := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"7d", time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC), false},
		{"1.5d", time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC), false},
		{"90m", time.Date(2026, 12, 5, 3, 30, 0, 0, time.UTC), false},
		{"2026-01-02T03:04:05+02:00", time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC), false},
		{"-1h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, c := range cases {
		got, err := ParseWhen(c.in, now)
		if (err != nil) != c.err || !got.Equal(c.want) || (err == nil && got.Location() != time.UTC) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}
