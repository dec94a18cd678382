package cmdutil

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge parses a Go duration ("90s", "2h") or a number of days ("7d",
// "1.5d"), the ages flags like --updated-before and --before take.
func ParseAge(s string) (time.Duration, bool) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if f, err := strconv.ParseFloat(n, 64); err == nil && f >= 0 && f < 1e5 {
			return time.Duration(f * float64(24*time.Hour)), true
		}
	}
	return 0, false
}

// ParseWhen parses a point in time given on the command line: an age before
// now (ParseAge: "7d" is seven days before now) or an RFC 3339 time. The
// answer is in UTC, as the methods' date-time params want it.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := ParseAge(s); ok {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return now.Add(-d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an age (90m, 7d) nor an RFC 3339 time (2026-01-02T15:04:05Z)", s)
	}
	return t.UTC(), nil
}
