package emit

import (
	"bufio"
	"strings"
	"testing"
)

// TestReadCallReply: call.lua's replies as Redis sends them (RESP2).
func TestReadCallReply(t *testing.T) {
	for _, c := range []struct {
		in     string
		want   []int64
		srvErr string
	}{
		{"*2\r\n:1\r\n$15\r\n1764892800000-0\r\n", []int64{1, 0}, ""},
		{"*2\r\n:0\r\n$3\r\n1-1\r\n", []int64{0, 0}, ""},
		{"*2\r\n:-1\r\n$0\r\n\r\n", []int64{-1, 0}, ""},
		{"*3\r\n:-2\r\n:250\r\n:100\r\n", []int64{-2, 250, 100}, ""},
		{"-NOSCRIPT No matching script\r\n", nil, "NOSCRIPT No matching script"},
	} {
		got, srvErr, err := readCallReply(bufio.NewReader(strings.NewReader(c.in)))
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if c.srvErr != "" {
			if srvErr == nil || srvErr.Error() != c.srvErr {
				t.Fatalf("%q: server error %v, want %q", c.in, srvErr, c.srvErr)
			}
			continue
		}
		if srvErr != nil || len(got) != len(c.want) {
			t.Fatalf("%q: %v %v", c.in, got, srvErr)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%q: %v, want %v", c.in, got, c.want)
			}
		}
	}
	for _, bad := range []string{"+OK\r\n", "*0\r\n", "*99\r\n", "*2\r\n:x\r\n:1\r\n", "*1\r\n", "*2\r\n+OK\r\n:1\r\n", "*1\n"} {
		if _, _, err := readCallReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzCallReply: readCallReply never panics on what a connection sends,
// and a reply it accepts has a status.
func FuzzCallReply(f *testing.F) {
	for _, s := range []string{"*2\r\n:1\r\n$3\r\n1-1\r\n", "*3\r\n:-2\r\n:250\r\n:100\r\n", "-ERR x\r\n", "*2\r\n$-1\r\n:1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reply, srvErr, err := readCallReply(bufio.NewReader(strings.NewReader(string(data))))
		if err == nil && srvErr == nil && len(reply) == 0 {
			t.Fatalf("%q: accepted a reply without a status", data)
		}
	})
}
