package app_test

import (
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/claudebench/cb/daemon/app"
	"github.com/claudebench/cb/daemon/app/apptest"
	"github.com/claudebench/cb/daemon/invoke"
	"github.com/claudebench/cb/daemon/registry"
	"github.com/redis/go-redis/v9"
)

// TestBuild: every group of handlers is registered, the guard is there
// only when asked for, overrides apply before registration, and a
// handler without a method schema is refused.
func TestBuild(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })

	a := apptest.Build(t, rdb, nil, nil)
	for _, m := range []string{"hook.pre_tool", "hooks.test", "task.create", "system.metrics"} {
		if _, ok := a.Registry.Lookup(m); !ok {
			t.Errorf("%s not registered", m)
		}
	}
	if a.Guard != nil || a.Invoker.Registry() != a.Registry {
		t.Fatalf("unguarded build: guard %v", a.Guard)
	}

	a = apptest.Build(t, rdb, nil, func(d *app.Deps) {
		d.Guard = &invoke.GuardConfig{RateLimit: 7}
		d.Overrides = func(hs []registry.Handler) []registry.Handler {
			for i := range hs {
				if hs[i].Event == "task.create" {
					hs[i].RateLimit = 3
				}
			}
			return hs
		}
	})
	h, _ := a.Registry.Lookup("task.create")
	other, _ := a.Registry.Lookup("task.claim")
	if a.Guard == nil || a.Guard.Limit(h) != 3 || a.Guard.Limit(other) != 7 {
		t.Fatalf("guard %v: limits %d, %d; want 3, 7", a.Guard, a.Guard.Limit(h), a.Guard.Limit(other))
	}

	if _, err := app.Build(app.Deps{}); err == nil {
		t.Error("Build without dependencies")
	}
}

func TestBuildRefusesMethodWithoutSchema(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	d := apptest.Deps(t, rdb, nil)
	d.Overrides = func(hs []registry.Handler) []registry.Handler {
		return append(hs, registry.Handler{Event: "no.schema"})
	}
	if _, err := app.Build(d); err == nil || !strings.Contains(err.Error(), "no.schema has no schema") {
		t.Fatalf("Build with a handler without schema: %v", err)
	}
}
