package resp

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func reader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func TestAppend(t *testing.T) {
	b := AppendCommand(nil, "SET", "k", "")
	b = AppendArray(b, 3)
	b = AppendBulk(b, []byte("a\r\nb"))
	b = AppendInt(b, -42)
	b = AppendBulk(b, "é")
	want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n" + "*3\r\n$4\r\na\r\nb\r\n$3\r\n-42\r\n$2\r\né\r\n"
	if string(b) != want {
		t.Fatalf("got %q\nwant %q", b, want)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _ = AppendInt(AppendCommand(buf[:0], "BLPOP", "cb:response:x", "1.5"), 7) }); n != 0 {
		t.Fatalf("encoding into a buffer with room allocates %v times", n)
	}
}

func TestRead(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{"+OK\r\n", "OK"},
		{":-7\r\n", int64(-7)},
		{"$5\r\nhe\r\nl\r\n", "he\r\nl"},
		{"$0\r\n\r\n", ""},
		{"$-1\r\n", nil},
		{"*-1\r\n", nil},
		{"*0\r\n", []any{}},
		{"*4\r\n:1\r\n$15\r\n1764892800000-0\r\n*1\r\n+x\r\n-ERR inside\r\n", []any{int64(1), "1764892800000-0", []any{"x"}, Error("ERR inside")}},
	} {
		got, err := Read(reader(c.in))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Read(%q) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
		if err := Skip(reader(c.in + "+next\r\n")); err != nil {
			t.Errorf("Skip(%q): %v", c.in, err)
		}
	}
	// Skip leaves the reader at the next reply.
	r := reader("*2\r\n$3\r\nabc\r\n:1\r\n+next\r\n")
	if err := Skip(r); err != nil {
		t.Fatal(err)
	}
	if v, err := Read(r); v != "next" || err != nil {
		t.Fatalf("after Skip: %v, %v", v, err)
	}

	var e Error
	if _, err := Read(reader("-NOSCRIPT No matching script\r\n")); !errors.As(err, &e) || e != "NOSCRIPT No matching script" {
		t.Fatalf("error reply: %v", err)
	}
	if err := Skip(reader("-WRONGTYPE x\r\n")); !errors.As(err, &e) || e != "WRONGTYPE x" {
		t.Fatalf("Skip error reply: %v", err)
	}
	for _, bad := range []string{"OK\r\n", "+OK\n", ":x\r\n", "$x\r\n", "$-2\r\n", "*-2\r\n", "$3\r\nabcde\r\n",
		"*2\r\n:1\r\n", "$3\r\nab", "$999999999999\r\n", "*9999999\r\n", "?\r\n", ""} {
		if v, err := Read(reader(bad)); err == nil {
			t.Errorf("Read(%q) = %#v, no error", bad, v)
		} else if errors.As(err, &e) {
			t.Errorf("Read(%q): %v is not an error reply", bad, err)
		}
		if err := Skip(reader(bad)); err == nil && bad != "$3\r\nabcde\r\n" {
			t.Errorf("Skip(%q): no error", bad)
		}
	}
	if _, err := Read(reader("$3\r\nab")); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short bulk: %v", err)
	}
}
