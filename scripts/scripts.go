// Package scripts holds ClaudeBench's Redis Lua scripts, one file per
// script with a header naming its KEYS, ARGV and return value. They are
// embedded and run through go-redis's Script, which uses EVALSHA and loads
// the script on first use.
package scripts

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

//go:embed call.lua
var callSrc string

// Call appends a request to its stream when its method is known; see call.lua.
var Call = redis.NewScript(callSrc)
