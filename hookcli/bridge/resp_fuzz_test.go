package bridge

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

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
