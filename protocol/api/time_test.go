package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/claudebench/cb/protocol/api"
)

func TestTimeHasMilliseconds(t *testing.T) {
	for _, c := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 12, 5, 0, 45, 45, 900_000_000, time.UTC), `"2026-12-05T00:45:45.900Z"`},
		{time.Date(2026, 12, 5, 0, 45, 45, 0, time.UTC), `"2026-12-05T00:45:45.000Z"`},
		{time.Date(2026, 12, 5, 1, 45, 45, 123_456_789, time.FixedZone("", 3600)), `"2026-12-05T00:45:45.123Z"`},
	} {
		b, err := json.Marshal(api.TimeOf(c.in))
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.in, b, err, c.want)
		}
		if s := api.FormatTime(c.in); `"`+s+`"` != c.want {
			t.Errorf("FormatTime(%v) = %s, want %s", c.in, s, c.want)
		}
	}
}

func TestTimeParsesRFC3339(t *testing.T) {
	for _, s := range []string{`"2026-12-05T00:45:45.9Z"`, `"2026-12-05T00:45:45.900000Z"`, `"2026-12-05T01:45:45.9+01:00"`} {
		var got api.Time
		if err := json.Unmarshal([]byte(s), &got); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if want := time.Date(2026, 12, 5, 0, 45, 45, 900_000_000, time.UTC); !got.Equal(want) {
			t.Errorf("%s: got %v, want %v", s, got, want)
		}
	}
	var got api.Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &got); err == nil {
		t.Error("a time that is not RFC 3339 decoded")
	}
}
