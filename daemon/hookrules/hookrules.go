// Package hookrules keeps the hook rules as data: the shipped defaults and
// the config file's rules, plus rules added at run time in Redis
// (cb:hooks:{hookType}, one JSON rule per member) and ids switched off at
// run time (cb:hooks-disabled). Every cbd holds the merged, compiled engine
// and reloads it as soon as any instance announces a change. Decide and
// Evaluate judge one hook input by an engine's rules, reading the input as
// Claude Code does.
package hookrules

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/claudebench/cb/daemon/policy"
	"github.com/claudebench/cb/internal/tick"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// Rules is the live rule set of one cbd.
type Rules struct {
	rdb      redis.UniversalClient
	defaults []policy.Rule // shipped defaults (empty when hook.default_rules is off)
	config   []policy.Rule // from the config file
	disabled []string      // from the config file
	log      *slog.Logger
	engine   atomic.Pointer[policy.Engine]
	listing  atomic.Pointer[[]Listed]
}

// Listed is one rule as `cb hooks list` shows it.
type Listed struct {
	policy.Rule
	Source   string `json:"source"` // default, config or redis
	Disabled bool   `json:"disabled"`
}

// New builds the rule set; Load must succeed before Engine is used.
func New(rdb redis.UniversalClient, defaults, config []policy.Rule, disabled []string, log *slog.Logger) *Rules {
	return &Rules{rdb: rdb, defaults: defaults, config: config, disabled: disabled, log: log}
}

// Engine returns the current compiled engine.
func (r *Rules) Engine() *policy.Engine { return r.engine.Load() }

// List returns every known rule with its source and state.
func (r *Rules) List() []Listed { return *r.listing.Load() }

// hookTypes are the keys rules are stored under.
func hookTypes() []string {
	out := make([]string, 0, len(protocol.HookEvents))
	for _, he := range protocol.HookEvents {
		out = append(out, he.Type)
	}
	return out
}

// stored reads the run-time rules and disabled ids from Redis.
func (r *Rules) stored(ctx context.Context) ([]policy.Rule, []string, error) {
	pipe := r.rdb.Pipeline()
	var cmds []*redis.StringSliceCmd
	for _, ht := range hookTypes() {
		cmds = append(cmds, pipe.SMembers(ctx, protocol.HooksKey(ht)))
	}
	dis := pipe.SMembers(ctx, protocol.HooksDisabledKey)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("read hook rules: %w", err)
	}
	var rules []policy.Rule
	for _, c := range cmds {
		for _, m := range c.Val() {
			var rule policy.Rule
			if err := json.Unmarshal([]byte(m), &rule); err != nil {
				r.log.Warn("skipping a malformed rule in Redis", "rule", m, "err", err)
				continue
			}
			if err := rule.Validate(); err != nil {
				// Added by an older cb whose checks were looser (an action
				// the event ignores): one such rule must not stop every
				// other from loading.
				r.log.Warn("skipping a rule in Redis that is no longer valid; remove it with cb hooks rm", "rule", m, "err", err)
				continue
			}
			rules = append(rules, rule)
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules, dis.Val(), nil
}

// Load rebuilds the engine from defaults, config and Redis.
func (r *Rules) Load(ctx context.Context) error {
	stored, storedOff, err := r.stored(ctx)
	if err != nil {
		return err
	}
	off := append(append([]string{}, r.disabled...), storedOff...)
	user := append(append([]policy.Rule{}, r.config...), stored...)
	engine, err := policy.New(policy.Merge(r.defaults, user, off))
	if err != nil {
		return fmt.Errorf("hook rules: %w", err)
	}
	offSet := map[string]bool{}
	for _, id := range off {
		offSet[id] = true
	}
	var listing []Listed
	seen := map[string]int{}
	add := func(rule policy.Rule, src string) {
		l := Listed{Rule: rule, Source: src, Disabled: offSet[rule.ID] || rule.Disabled}
		if i, ok := seen[rule.ID]; ok {
			listing[i] = l
			return
		}
		seen[rule.ID] = len(listing)
		listing = append(listing, l)
	}
	for _, x := range r.defaults {
		add(x, "default")
	}
	for _, x := range r.config {
		add(x, "config")
	}
	for _, x := range stored {
		add(x, "redis")
	}
	r.engine.Store(engine)
	r.listing.Store(&listing)
	return nil
}

// Watch reloads on every change announcement, and every interval as a
// safety net, until ctx is done.
func (r *Rules) Watch(ctx context.Context, interval time.Duration) {
	sub := r.rdb.Subscribe(ctx, protocol.HooksChannel)
	defer sub.Close()
	tick.Every(ctx, interval, sub.Channel(), func() {
		if err := r.Load(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("reloading hook rules", "err", err)
		}
	})
}

// Add stores (or replaces, by id) a run-time rule after checking that the
// whole rule set still compiles, and announces the change.
func (r *Rules) Add(ctx context.Context, rule policy.Rule) error {
	if err := rule.Validate(); err != nil {
		return &protocol.Error{Code: protocol.CodeInvalidParams, Message: err.Error()}
	}
	if _, err := policy.New([]policy.Rule{rule}); err != nil {
		return &protocol.Error{Code: protocol.CodeInvalidParams, Message: err.Error()}
	}
	data, err := json.Marshal(rule)
	if err != nil {
		return fmt.Errorf("encode rule: %w", err)
	}
	if _, err := r.remove(ctx, rule.ID); err != nil {
		return err
	}
	ht := policy.CanonicalEvent(rule.Event)
	if ht == "" {
		ht = "pre_tool"
	}
	if err := r.rdb.SAdd(ctx, protocol.HooksKey(ht), data).Err(); err != nil {
		return fmt.Errorf("store rule: %w", err)
	}
	return r.changed(ctx)
}

// Remove deletes a run-time rule; defaults and config rules can only be
// disabled.
func (r *Rules) Remove(ctx context.Context, id string) error {
	n, err := r.remove(ctx, id)
	if err != nil {
		return err
	}
	if n == 0 {
		for _, l := range r.List() {
			if l.ID == id {
				return &protocol.Error{Code: protocol.CodeConflict, Message: fmt.Sprintf("rule %s comes from the %s rules; disable it instead", id, l.Source)}
			}
		}
		return &protocol.Error{Code: protocol.CodeNotFound, Message: "no rule " + id}
	}
	return r.changed(ctx)
}

func (r *Rules) remove(ctx context.Context, id string) (int, error) {
	n := 0
	for _, ht := range hookTypes() {
		members, err := r.rdb.SMembers(ctx, protocol.HooksKey(ht)).Result()
		if err != nil {
			return n, fmt.Errorf("read rules: %w", err)
		}
		for _, m := range members {
			var rule policy.Rule
			if json.Unmarshal([]byte(m), &rule) == nil && rule.ID == id {
				if err := r.rdb.SRem(ctx, protocol.HooksKey(ht), m).Err(); err != nil {
					return n, fmt.Errorf("remove rule: %w", err)
				}
				n++
			}
		}
	}
	return n, nil
}

// SetDisabled switches a rule off (or back on) on every instance.
func (r *Rules) SetDisabled(ctx context.Context, id string, off bool) error {
	known := false
	for _, l := range r.List() {
		known = known || l.ID == id
	}
	if !known {
		return &protocol.Error{Code: protocol.CodeNotFound, Message: "no rule " + id}
	}
	var err error
	if off {
		err = r.rdb.SAdd(ctx, protocol.HooksDisabledKey, id).Err()
	} else {
		err = r.rdb.SRem(ctx, protocol.HooksDisabledKey, id).Err()
	}
	if err != nil {
		return fmt.Errorf("disable rule %s: %w", id, err)
	}
	return r.changed(ctx)
}

// changed reloads here and tells every other instance.
func (r *Rules) changed(ctx context.Context) error {
	if err := r.rdb.Publish(ctx, protocol.HooksChannel, "1").Err(); err != nil {
		return fmt.Errorf("announce rule change: %w", err)
	}
	return r.Load(ctx)
}
