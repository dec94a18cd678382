// Package scripts holds ClaudeBench's Redis Lua scripts, one file per
// script with a header naming its KEYS, ARGV and return value. They are
// embedded and run through go-redis's Script, which uses EVALSHA and loads
// the script on first use. The task scripts share tasks/lib.lua, which is
// prepended to each.
package scripts

import (
	_ "embed"
	"sync"

	"github.com/redis/go-redis/v9"
)

//go:embed call.lua
var callSrc string

// Call appends a request to its stream when its method is known; see call.lua.
var Call = redis.NewScript(callSrc)

var (
	//go:embed admit.lua
	admitSrc string
	//go:embed circuit.lua
	circuitSrc string
)

// Admit checks a handler's rate limit and circuit breaker; see admit.lua.
var Admit = sync.OnceValue(func() *redis.Script { return redis.NewScript(admitSrc) })

// Circuit records a handler outcome in its circuit breaker; see circuit.lua.
var Circuit = sync.OnceValue(func() *redis.Script { return redis.NewScript(circuitSrc) })

var (
	//go:embed tasks/lib.lua
	taskLib string
	//go:embed tasks/create.lua
	taskCreate string
	//go:embed tasks/claim.lua
	taskClaim string
	//go:embed tasks/finish.lua
	taskFinish string
	//go:embed tasks/update.lua
	taskUpdate string
	//go:embed tasks/assign.lua
	taskAssign string
	//go:embed tasks/delete.lua
	taskDelete string
	//go:embed tasks/release.lua
	taskRelease string
	//go:embed tasks/restore.lua
	taskRestore string
)

// withLib prepends lib.lua. The script (and its SHA-1) is built on first
// use: cb links this package for Call only, and every init it skips is
// hook latency saved.
func withLib(src *string) func() *redis.Script {
	return sync.OnceValue(func() *redis.Script { return redis.NewScript(taskLib + "\n" + *src) })
}

// The task scripts; see the header of each file in tasks/.
var (
	TaskCreate  = withLib(&taskCreate)
	TaskClaim   = withLib(&taskClaim)
	TaskFinish  = withLib(&taskFinish)
	TaskUpdate  = withLib(&taskUpdate)
	TaskAssign  = withLib(&taskAssign)
	TaskDelete  = withLib(&taskDelete)
	TaskRelease = withLib(&taskRelease)
	TaskRestore = withLib(&taskRestore)
)
