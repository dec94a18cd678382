package resp

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// FuzzRESPReply: any bytes from the server give a value or an error, never
// a panic or a hang (Read and Skip); a reply encoded from the fuzzer's values (a bulk
// string, an integer, an array of both and a null) reads back the same.
func FuzzRESPReply(f *testing.F) {
	f.Add([]byte("*2\r\n:1\r\n$15\r\n1795760535192-0\r\n"), "answer", int64(-7))
	f.Add([]byte("-ERR unknown\r\n"), "", int64(0))
	f.Add([]byte("$999999999\r\nab"), "x\r\ny", int64(1<<40))
	f.Add([]byte("*-1\r\n"), "", int64(3))
	f.Fuzz(func(t *testing.T, raw []byte, s string, n int64) {
		r := bufio.NewReader(bytes.NewReader(raw))
		for i := 0; i < 4; i++ {
			if _, err := Read(r); err != nil {
				break
			}
		}
		r = bufio.NewReader(bytes.NewReader(raw))
		for i := 0; i < 4; i++ {
			if err := Skip(r); err != nil {
				break
			}
		}
		enc := fmt.Appendf(nil, "*3\r\n$%d\r\n%s\r\n:%d\r\n*-1\r\n", len(s), s, n)
		got, err := Read(bufio.NewReader(bytes.NewReader(enc)))
		want := []any{s, n, nil}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("reply(%q) = %#v, %v; want %#v", enc, got, err, want)
		}
	})
}
