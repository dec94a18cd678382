package hookcli

import (
	"bufio"
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/redis/go-redis/v9"
)

// FuzzRESPReply: any bytes from the server give a value or an error, never
// a panic or a hang; a reply encoded from the fuzzer's values (a bulk
// string, an integer, an array of both and a null) reads back the same.
func FuzzRESPReply(f *testing.F) {
	f.Add([]byte("*2\r\n:1\r\n$15\r\n1795760535192-0\r\n"), "answer", int64(-7))
	f.Add([]byte("-ERR unknown\r\n"), "", int64(0))
	f.Add([]byte("$999999999\r\nab"), "x\r\ny", int64(1<<40))
	f.Add([]byte("*-1\r\n"), "", int64(3))
	f.Fuzz(func(t *testing.T, raw []byte, s string, n int64) {
		c := &respConn{r: bufio.NewReader(bytes.NewReader(raw))}
		for i := 0; i < 4; i++ {
			if _, err := c.reply(); err != nil {
				break
			}
		}
		enc := fmt.Appendf(nil, "*3\r\n$%d\r\n%s\r\n:%d\r\n*-1\r\n", len(s), s, n)
		c = &respConn{r: bufio.NewReader(bytes.NewReader(enc))}
		got, err := c.reply()
		want := []any{s, n, nil}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("reply(%q) = %#v, %v; want %#v", enc, got, err, want)
		}
	})
}

// FuzzParseLeanURL: whenever the lean client takes a URL itself, go-redis
// (which cb-cli uses for the rest) reads the same network, address,
// credentials and database from it.
func FuzzParseLeanURL(f *testing.F) {
	for _, u := range []string{"unix:///run/cb/redis.sock?db=2", "redis://:pw@[::1]:7000/2?db=4",
		"redis://alice:pw@redis.example:6379", "rediss://h:6380", "redis://s1:26379?master_name=m", "redis://h/x"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		a, lean, err := parseLeanURL(u)
		if err != nil || !lean {
			return
		}
		o, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("%q: lean client takes it, go-redis refuses it: %v", u, err)
		}
		want := redisAddr{network: o.Network, addr: o.Addr, username: o.Username, password: o.Password, db: o.DB}
		if a != want {
			t.Fatalf("%q: lean %+v, go-redis %+v", u, a, want)
		}
	})
}
