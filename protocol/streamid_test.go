package protocol

import "testing"

func TestCompareStreamIDs(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0}, {"1-0", "1-1", -1}, {"2-0", "10-0", -1}, {"10-5", "9-99", 1}, {"5", "5-0", 0},
	}
	for _, c := range cases {
		if got := CompareStreamIDs(c.a, c.b); got != c.want {
			t.Errorf("CompareStreamIDs(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for _, bad := range []string{"", "x-1", "1-x", "+1-0", "1-+0", "-1"} {
		if _, _, ok := ParseStreamID(bad); ok {
			t.Errorf("ParseStreamID(%q) accepted", bad)
		}
	}
}
