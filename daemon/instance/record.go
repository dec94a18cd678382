package instance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// Health values of an instance.
const (
	Healthy   = "healthy"
	Degraded  = "degraded"
	Unhealthy = "unhealthy"
)

// Record is one registration as stored in Redis: the hash
// protocol.InstanceKey(ID) with the fields id, roles (JSON array), health,
// lastSeen (unix ms) and metadata (JSON object), living TTL after the last
// heartbeat, plus the member ID of protocol.InstancesKey scored by lastSeen.
// cbd itself (Instance.Heartbeat) and registered workers (system.register)
// share this layout.
type Record struct {
	ID    string
	Roles []string
	// Health is the stored health; Write stores Healthy when it is empty.
	Health string
	// LastSeen is the last heartbeat; Write uses the current time when it
	// is zero.
	LastSeen time.Time
	// Metadata is a JSON object (nil is stored as {}).
	Metadata json.RawMessage
	// Nonce, when set, is stored as the field nonce: it names the process
	// that wrote the registration, so that process's unregister removes
	// only its own (cbd itself; registered workers leave it empty).
	Nonce string
	// Expired is set by List for an id still in protocol.InstancesKey whose
	// hash has expired: only ID and LastSeen (the zset score) are known.
	Expired bool
}

// Write stores a registration (replacing any previous one) with a TTL.
func Write(ctx context.Context, rdb redis.UniversalClient, rec Record, ttl time.Duration) error {
	pipe := rdb.Pipeline()
	if err := queueWrite(ctx, pipe, rec, ttl); err != nil {
		return fmt.Errorf("register %s: %w", rec.ID, err)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("register %s: %w", rec.ID, err)
	}
	return nil
}

// queueWrite adds the commands that store rec to pipe.
func queueWrite(ctx context.Context, pipe redis.Pipeliner, rec Record, ttl time.Duration) error {
	if rec.ID == "" {
		return errors.New("empty instance id")
	}
	if ttl <= 0 {
		return fmt.Errorf("instance ttl %s must be positive", ttl)
	}
	roles, err := json.Marshal(nonNil(rec.Roles))
	if err != nil {
		return fmt.Errorf("encode roles: %w", err)
	}
	meta := rec.Metadata
	if len(meta) == 0 || string(meta) == "null" {
		meta = json.RawMessage("{}")
	}
	health := rec.Health
	if health == "" {
		health = Healthy
	}
	seen := rec.LastSeen
	if seen.IsZero() {
		seen = time.Now()
	}
	key := protocol.InstanceKey(rec.ID)
	fields := []any{"id", rec.ID, "roles", string(roles), "health", health,
		"lastSeen", seen.UnixMilli(), "metadata", string(meta)}
	if rec.Nonce != "" {
		fields = append(fields, "nonce", rec.Nonce)
	}
	pipe.HSet(ctx, key, fields...)
	pipe.PExpire(ctx, key, ttl)
	pipe.ZAdd(ctx, protocol.InstancesKey, redis.Z{Score: float64(seen.UnixMilli()), Member: rec.ID})
	return nil
}

// renewScript renews a registration only if it still exists, so an expired
// instance is not resurrected as a hash without roles or metadata.
//
// KEYS[1] the instance hash, KEYS[2] the instances zset
// ARGV[1] now (unix ms), ARGV[2] TTL (ms), ARGV[3] the instance id
// Returns 1 if renewed, 0 if the hash does not exist.
var renewScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'lastSeen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
return 1
`)

// Renew records a heartbeat of an existing registration: lastSeen, TTL and
// score in protocol.InstancesKey. It reports false, and writes nothing, when
// the registration does not exist (never registered, or expired).
func Renew(ctx context.Context, rdb redis.UniversalClient, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("renew %s: instance ttl %s must be positive", id, ttl)
	}
	now := time.Now().UnixMilli()
	n, err := renewScript.Run(ctx, rdb, []string{protocol.InstanceKey(id), protocol.InstancesKey},
		now, ttl.Milliseconds(), id).Int()
	if err != nil {
		return false, fmt.Errorf("renew %s: %w", id, err)
	}
	return n == 1, nil
}

// Remove deletes a registration (hash and zset member). It reports whether
// there was anything to remove.
func Remove(ctx context.Context, rdb redis.UniversalClient, id string) (bool, error) {
	pipe := rdb.TxPipeline()
	del := pipe.Del(ctx, protocol.InstanceKey(id))
	rem := pipe.ZRem(ctx, protocol.InstancesKey, id)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("remove instance %s: %w", id, err)
	}
	return del.Val()+rem.Val() > 0, nil
}

// List returns every instance in protocol.InstancesKey, sorted by id, with
// its stored hash; an id whose hash has expired is returned with Expired set.
func List(ctx context.Context, rdb redis.UniversalClient) ([]Record, error) {
	members, err := rdb.ZRangeWithScores(ctx, protocol.InstancesKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	if len(members) == 0 {
		return []Record{}, nil
	}
	pipe := rdb.Pipeline()
	hashes := make([]*redis.MapStringStringCmd, len(members))
	for i, z := range members {
		id, _ := z.Member.(string)
		hashes[i] = pipe.HGetAll(ctx, protocol.InstanceKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := make([]Record, 0, len(members))
	for i, z := range members {
		id, _ := z.Member.(string)
		out = append(out, decodeRecord(id, z.Score, hashes[i].Val()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// decodeRecord builds a Record from a hash (empty = expired) and the zset
// score; malformed fields are tolerated, since other writers exist.
func decodeRecord(id string, score float64, h map[string]string) Record {
	rec := Record{ID: id, Roles: []string{}, LastSeen: time.UnixMilli(int64(score))}
	if len(h) == 0 {
		rec.Expired = true
		return rec
	}
	rec.Health = h["health"]
	if ms, err := strconv.ParseInt(h["lastSeen"], 10, 64); err == nil {
		rec.LastSeen = time.UnixMilli(ms)
	}
	var roles []string
	if json.Unmarshal([]byte(h["roles"]), &roles) == nil && roles != nil {
		rec.Roles = roles
	}
	var obj map[string]json.RawMessage
	if m := h["metadata"]; m != "" && json.Unmarshal([]byte(m), &obj) == nil && obj != nil {
		rec.Metadata = json.RawMessage(m)
	}
	return rec
}

// Classify returns the health of a registration at now from its heartbeat
// age: Healthy up to healthyWithin (2× the heartbeat interval), Degraded up
// to degradedWithin (tasks.reclaim_after), Unhealthy beyond that or when the
// registration has expired. A stored health worse than the age says wins.
func Classify(rec Record, now time.Time, healthyWithin, degradedWithin time.Duration) string {
	if rec.Expired {
		return Unhealthy
	}
	age := now.Sub(rec.LastSeen)
	h := Unhealthy
	switch {
	case age <= healthyWithin:
		h = Healthy
	case age <= degradedWithin:
		h = Degraded
	}
	if rank(rec.Health) > rank(h) {
		return rec.Health
	}
	return h
}

func rank(health string) int {
	switch health {
	case Degraded:
		return 1
	case Unhealthy:
		return 2
	}
	return 0
}
