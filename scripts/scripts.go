// Package scripts holds ClaudeBench's Redis Lua scripts, one file per
// script with a header naming its KEYS, ARGV and return value, embedded as
// source text. The package imports nothing but embed, so the lean `cb hook`
// path can send call.lua without linking a Redis client; the go-redis
// Script wrappers (EVALSHA, loading on first use) are in scripts/redisscript.
// The task scripts share tasks/lib.lua, which TaskSource prepends.
package scripts

import (
	"embed"
	"io/fs"
	"strings"
)

// Call appends a request to its stream when its method is known; see call.lua.
//
//go:embed call.lua
var Call string

// Admit checks a handler's rate limit and circuit breaker; see admit.lua.
//
//go:embed admit.lua
var Admit string

// Circuit records a handler outcome in its circuit breaker; see circuit.lua.
//
//go:embed circuit.lua
var Circuit string

// Lease renews a cbd process's liveness lease on its methods; see lease.lua.
//
//go:embed lease.lua
var Lease string

// Unregister withdraws one cbd process's registration; see unregister.lua.
//
//go:embed unregister.lua
var Unregister string

var (
	//go:embed tasks/lib.lua
	taskLib string
	//go:embed tasks/*.lua
	taskFiles embed.FS
)

// Names of the task scripts (files in tasks/), for TaskSource.
const (
	TaskCreate  = "create"
	TaskClaim   = "claim"
	TaskFinish  = "finish"
	TaskUpdate  = "update"
	TaskAssign  = "assign"
	TaskDelete  = "delete"
	TaskRelease = "release"
	TaskRestore = "restore"
	TaskExpire  = "expire"
	TaskRenew   = "renew"
	TaskAttach  = "attach"
)

// TaskSource returns the source of task script name (see the header of
// each file in tasks/) with lib.lua prepended, or "" for an unknown name.
func TaskSource(name string) string {
	src, err := taskFiles.ReadFile("tasks/" + name + ".lua")
	if err != nil || name == "lib" {
		return ""
	}
	return taskLib + "\n" + string(src)
}

// Script is one script as a file and as it runs.
type Script struct {
	Name   string // "call", "admit", ...; "tasks/claim" for a task script
	File   string // the file's text, whose header names its KEYS and ARGV
	Source string // what runs: File, with lib.lua prepended for a task script
}

// All returns every script, for tests that check them all.
func All() []Script {
	all := []Script{{"call", Call, Call}, {"admit", Admit, Admit}, {"circuit", Circuit, Circuit},
		{"lease", Lease, Lease}, {"unregister", Unregister, Unregister}}
	names, _ := fs.Glob(taskFiles, "tasks/*.lua")
	for _, f := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "tasks/"), ".lua")
		if name == "lib" {
			continue
		}
		body, _ := taskFiles.ReadFile(f)
		all = append(all, Script{Name: "tasks/" + name, File: string(body), Source: TaskSource(name)})
	}
	return all
}
