// Package redisscript wraps the Lua sources of package scripts in go-redis
// Scripts, which run by EVALSHA and load the script on first use. Each is
// built (and its SHA-1 computed) on first use.
package redisscript

import (
	"sync"

	"github.com/claudebench/cb/scripts"
	"github.com/redis/go-redis/v9"
)

func lazy(src func() string) func() *redis.Script {
	return sync.OnceValue(func() *redis.Script { return redis.NewScript(src()) })
}

func task(name string) func() *redis.Script {
	return lazy(func() string { return scripts.TaskSource(name) })
}

// The scripts; see the header of each .lua file in package scripts.
var (
	Call        = lazy(func() string { return scripts.Call })
	Admit       = lazy(func() string { return scripts.Admit })
	Circuit     = lazy(func() string { return scripts.Circuit })
	Lease       = lazy(func() string { return scripts.Lease })
	Unregister  = lazy(func() string { return scripts.Unregister })
	TaskCreate  = task(scripts.TaskCreate)
	TaskClaim   = task(scripts.TaskClaim)
	TaskFinish  = task(scripts.TaskFinish)
	TaskUpdate  = task(scripts.TaskUpdate)
	TaskAssign  = task(scripts.TaskAssign)
	TaskDelete  = task(scripts.TaskDelete)
	TaskRelease = task(scripts.TaskRelease)
	TaskRestore = task(scripts.TaskRestore)
	TaskExpire  = task(scripts.TaskExpire)
	TaskRenew   = task(scripts.TaskRenew)
	TaskAttach  = task(scripts.TaskAttach)
)
