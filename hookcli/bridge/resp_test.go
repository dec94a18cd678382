package bridge

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestParseLeanURLMatchesGoRedis holds the lean client's URL reading to
// go-redis's (which cb-cli uses): same network, address, credentials and
// database for every URL the lean client takes, and a hand-over for the rest.
func TestParseLeanURLMatchesGoRedis(t *testing.T) {
	for _, c := range []struct {
		url  string
		lean bool
	}{
		{"unix:///run/cb/redis.sock", true},
		{"unix:///run/cb/redis.sock?db=2", true},
		{"unix://user:secret@/run/cb/redis.sock?db=1", true},
		{"unix://:secret@/run/cb/redis.sock", true},
		{"redis://localhost", true},
		{"redis://", true},
		{"redis://127.0.0.1:6380/3", true},
		{"redis://:pw@[::1]:7000/2?db=4", true},
		{"redis://alice:pw@redis.example:6379", true},
		{"redis://h/", true},
		{"rediss://h:6380", false},
		{"redis://s1:26379?master_name=mymaster", false},
		{"redis://h?dial_timeout=3s", false},
		{"redis://h?protocol=3", false},
		{"redis://h/x", false},
		{"redis://h/1/2", false},
		{"unix://", false},
		{"unix:///s?db=x", false},
		{"http://h", false},
	} {
		a, lean, err := parseLeanURL(c.url)
		if err != nil || lean != c.lean {
			t.Errorf("%s: lean %v err %v, want lean %v", c.url, lean, err, c.lean)
			continue
		}
		if !lean {
			continue
		}
		o, err := redis.ParseURL(c.url)
		if err != nil {
			t.Errorf("%s: go-redis: %v", c.url, err)
			continue
		}
		want := redisAddr{network: o.Network, addr: o.Addr, username: o.Username, password: o.Password, db: o.DB}
		if a != want {
			t.Errorf("%s: %+v, go-redis %+v", c.url, a, want)
		}
	}
	if _, _, err := parseLeanURL("redis://h:port:x"); err == nil {
		t.Error("malformed URL accepted")
	}
}
