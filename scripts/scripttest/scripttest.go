// Package scripttest checks, in tests against a real redis-server, that
// every Lua script of package scripts touches only the keys its caller
// passes in KEYS (and the run-time keys its header declares), and that
// every caller passes as many keys as the script's header lists. It is the
// test that keeps the scripts' key footprint in their headers, which is
// what makes them Redis Cluster-safe given hash tags.
//
// A Checker is a go-redis hook: it rewrites each EVALSHA (or EVAL) of one
// of the scripts into an EVAL of the script behind a prelude that wraps
// redis.call and redis.pcall and raises a script error for a key that is
// neither in KEYS nor under a declared run-time prefix.
package scripttest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/claudebench/cb/scripts"
	"github.com/redis/go-redis/v9"
)

// Header is what a script's header comment declares about its keys.
type Header struct {
	Keys     int      // the KEYS[i] listed; with Variadic, the least number
	Variadic bool     // a last line KEYS[i..n]: any number of keys from i on
	RunTime  []string // prefixes of the run-time keys ("cb:task:" for cb:task:{id})
}

var (
	keysLine    = regexp.MustCompile(`^-- KEYS\[(\d+)(\.\.n)?\]`)
	runTimeLine = regexp.MustCompile(`^--\s+(cb:[^\s{]*)\{`)
)

// ParseHeader reads the header comment at the top of a script file: its
// "-- KEYS[i] ..." lines, and the key patterns indented under a
// "-- Run-time keys" line.
func ParseHeader(file string) (Header, error) {
	var h Header
	runTime := false
	for _, line := range strings.Split(file, "\n") {
		if !strings.HasPrefix(line, "--") {
			break
		}
		if m := keysLine.FindStringSubmatch(line); m != nil {
			i, _ := strconv.Atoi(m[1])
			if m[2] != "" {
				h.Variadic, i = true, i-1
			} else if i != h.Keys+1 {
				return h, fmt.Errorf("header: %q out of order", line)
			}
			h.Keys = i
		}
		switch {
		case strings.HasPrefix(line, "-- Run-time keys"):
			runTime = true
		case !runTime:
		case runTimeLine.MatchString(line):
			h.RunTime = append(h.RunTime, runTimeLine.FindStringSubmatch(line)[1])
		case !strings.HasPrefix(line, "--  "): // not indented: the list ended
			runTime = false
		}
	}
	if h.Keys == 0 && !h.Variadic {
		return h, fmt.Errorf("header lists no KEYS")
	}
	return h, nil
}

// prelude shadows redis for the script after it: its call and pcall check
// the keys of each command first. Commands not listed take one key, their
// first argument.
const prelude = `local redis = (function(r)
  local inkeys = {}
  for _, k in ipairs(KEYS) do inkeys[k] = true end
  local runtime = {%s}
  local keyless = {TIME = true}
  local allkeys = {EXISTS = true, DEL = true, UNLINK = true}
  local function check(cmd, ...)
    local name = string.upper(cmd)
    if keyless[name] then return end
    local keys = {...}
    if not allkeys[name] then keys = {keys[1]} end
    for _, k in ipairs(keys) do
      local ok = inkeys[k]
      for _, p in ipairs(runtime) do
        if string.sub(k, 1, #p) == p then ok = true end
      end
      if not ok then
        error('scripttest: ' .. name .. ' ' .. tostring(k) .. ': key not in KEYS nor a declared run-time key')
      end
    end
  end
  return setmetatable({
    call = function(...) check(...) return r.call(...) end,
    pcall = function(...) check(...) return r.pcall(...) end,
  }, {__index = r})
end)(redis)
`

type script struct {
	name    string
	header  Header
	checked string // prelude + source
}

// Checker is a go-redis hook (redis.Hook) that runs the scripts of package
// scripts under the key check; add it with AddHook.
type Checker struct {
	bySHA map[string]*script

	mu  sync.Mutex
	ran map[string]int
}

// New parses the header of every script. It fails on a header that lists
// no KEYS, so a new script cannot skip the check.
func New() (*Checker, error) {
	c := &Checker{bySHA: map[string]*script{}, ran: map[string]int{}}
	for _, sc := range scripts.All() {
		h, err := ParseHeader(sc.File)
		if err != nil {
			return nil, fmt.Errorf("%s.lua: %w", sc.Name, err)
		}
		quoted := make([]string, len(h.RunTime))
		for i, p := range h.RunTime {
			quoted[i] = strconv.Quote(p)
		}
		sum := sha1.Sum([]byte(sc.Source))
		c.bySHA[hex.EncodeToString(sum[:])] = &script{name: sc.Name, header: h,
			checked: fmt.Sprintf(prelude, strings.Join(quoted, ", ")) + sc.Source}
	}
	return c, nil
}

// Ran returns how many times each script ran (by the names of scripts.All).
func (c *Checker) Ran() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.ran))
	for k, v := range c.ran {
		out[k] = v
	}
	return out
}

// DialHook implements redis.Hook.
func (c *Checker) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook implements redis.Hook.
func (c *Checker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.rewrite(cmd)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *Checker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.rewrite(cmd)
		}
		return next(ctx, cmds)
	}
}

// rewrite turns an EVALSHA or EVAL of a known script into an EVAL of the
// checked script, or of one that fails at once when the number of keys is
// not the header's.
func (c *Checker) rewrite(cmd redis.Cmder) {
	args := cmd.Args()
	if len(args) < 3 {
		return
	}
	name := strings.ToLower(fmt.Sprint(args[0]))
	var sc *script
	switch name {
	case "evalsha", "evalsha_ro":
		sc = c.bySHA[strings.ToLower(fmt.Sprint(args[1]))]
	case "eval", "eval_ro":
		sum := sha1.Sum([]byte(fmt.Sprint(args[1])))
		sc = c.bySHA[hex.EncodeToString(sum[:])]
	}
	if sc == nil {
		return
	}
	c.mu.Lock()
	c.ran[sc.name]++
	c.mu.Unlock()
	n, err := strconv.Atoi(fmt.Sprint(args[2]))
	h := sc.header
	args[0], args[1] = "eval", sc.checked
	if err != nil || n < h.Keys || (n > h.Keys && !h.Variadic) {
		args[1] = fmt.Sprintf("return redis.error_reply(%s)", strconv.Quote(fmt.Sprintf(
			"scripttest: %s.lua called with %s keys, its header lists %d", sc.name, fmt.Sprint(args[2]), h.Keys)))
	}
}

// Check adds a new Checker to rdb, failing tb when a header cannot be read.
func Check(tb testing.TB, rdb interface{ AddHook(redis.Hook) }) *Checker {
	tb.Helper()
	c, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	rdb.AddHook(c)
	return c
}
