package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// Entry is one stream entry.
type Entry struct {
	// Type is the event type the stream holds: its key without
	// protocol.StreamKeyPrefix.
	Type string
	redis.XMessage
}

// Stream is the key of the entry's stream.
func (e Entry) Stream() string { return protocol.StreamKey(e.Type) }

// Data is the event envelope the entry holds ("" when it has none).
func (e Entry) Data() string {
	s, _ := e.Values[protocol.StreamField].(string)
	return s
}

// RedisError is a failure of Redis while following: the connection, or a
// reply refusing a command (then Err holds a redis.Error).
type RedisError struct {
	What string // what was being done: "read streams", "list streams", …
	Err  error
}

func (e *RedisError) Error() string { return e.What + ": redis: " + e.Err.Error() }
func (e *RedisError) Unwrap() error { return e.Err }

// Defaults of a Follower's knobs.
const (
	DefaultRescan = 2 * time.Second
	DefaultCount  = 1000
	DefaultBlock  = time.Second
)

// A Follower reads the entries of every stream whose type matches its
// patterns as they are written, streams created while it runs included,
// and hands them on in stream id (time) order.
//
// Ids are per stream, so entries of two streams written in the same
// millisecond can both hold <ms>-0; such entries keep the order in which
// they were read. Task events do not tie: their ids take the sequence part
// from one counter (emit in scripts/tasks/lib.lua).
type Follower struct {
	Redis redis.UniversalClient
	// Patterns select the types followed (see the package doc); nil or
	// empty means every type.
	Patterns []string
	// Since is the first stream id to deliver. "" means the moment Run
	// starts by the Redis clock: every entry written after Run is ready.
	Since string
	// Rescan is how often new streams are looked for (DefaultRescan if 0).
	Rescan time.Duration
	// Count is the number of entries read per stream and XREAD
	// (DefaultCount if 0).
	Count int64
	// Block is how long one XREAD waits (DefaultBlock if 0).
	Block time.Duration
	// Ready, if set, is called once, when Run is positioned.
	Ready func()
	// Trouble, if set, is called when reading starts failing and Run
	// retries (err is the failure), and again with a nil err when reading
	// works again.
	Trouble func(what string, err error)

	once    sync.Once
	poke    chan struct{}
	from    string            // where a newly found stream starts
	last    map[string]string // type → last id read
	types   []string          // followed types, sorted
	pending []Entry           // read but not yet known to be in order
}

func (f *Follower) init() {
	f.once.Do(func() {
		f.poke = make(chan struct{}, 1)
		f.last = map[string]string{}
		if f.Count <= 0 {
			f.Count = DefaultCount
		}
		if f.Block <= 0 {
			f.Block = DefaultBlock
		}
		if f.Rescan <= 0 {
			f.Rescan = DefaultRescan
		}
	})
}

// Poke makes Run look for new streams now rather than at the next Rescan.
// It never blocks.
func (f *Follower) Poke() {
	f.init()
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// Run follows the streams, calling deliver with each batch of entries in
// id order, until ctx is done (it then returns nil), deliver fails (its
// error), Redis refuses a command (a *RedisError holding a redis.Error) or
// Redis cannot be reached before Run is positioned (a *RedisError). Later
// connection failures are retried.
func (f *Follower) Run(ctx context.Context, deliver func([]Entry) error) error {
	f.init()
	err := f.run(ctx, deliver)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (f *Follower) run(ctx context.Context, deliver func([]Entry) error) error {
	if f.Since != "" {
		f.from = PrevID(f.Since)
	} else {
		now, err := f.Redis.Time(ctx).Result()
		if err != nil {
			return &RedisError{"read the time", err}
		}
		f.from = IDBefore(now.UnixMilli())
	}
	if err := f.rescan(ctx); err != nil {
		return &RedisError{"list streams", err}
	}
	if f.Ready != nil {
		f.Ready()
	}
	nextScan := time.Now().Add(f.Rescan)
	more := false // a stream returned a full page: read again at once
	failing := false
	delay := 50 * time.Millisecond
	// retry reports a connection failure and waits; a refusal ends Run.
	retry := func(what string, err error) error {
		if rerr := redis.Error(nil); errors.As(err, &rerr) {
			return &RedisError{what, err}
		}
		if !failing && f.Trouble != nil {
			f.Trouble(what, err)
		}
		failing = true
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
		return nil
	}
	for ctx.Err() == nil {
		select {
		case <-f.poke:
			nextScan = time.Now()
		default:
		}
		if !time.Now().Before(nextScan) {
			if err := f.rescan(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if err := retry("list streams", err); err != nil {
					return err
				}
				continue
			}
			nextScan = time.Now().Add(f.Rescan)
		}
		if len(f.types) == 0 {
			t := time.NewTimer(time.Until(nextScan))
			select {
			case <-ctx.Done():
			case <-f.poke:
				nextScan = time.Now()
			case <-t.C:
			}
			t.Stop()
			continue
		}
		args := &redis.XReadArgs{Streams: make([]string, 0, 2*len(f.types)), Count: f.Count, Block: f.Block}
		if more {
			args.Block = -1
		}
		for _, typ := range f.types {
			args.Streams = append(args.Streams, protocol.StreamKey(typ))
		}
		for _, typ := range f.types {
			args.Streams = append(args.Streams, f.last[typ])
		}
		res, err := f.Redis.XRead(ctx, args).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return nil
			}
			if err := retry("read streams", err); err != nil {
				return err
			}
			continue
		}
		if failing {
			failing = false
			delay = 50 * time.Millisecond
			if f.Trouble != nil {
				f.Trouble("", nil)
			}
		}
		more = false
		for _, s := range res {
			if int64(len(s.Messages)) >= f.Count {
				more = true
			}
		}
		if err := f.take(res, deliver); err != nil {
			return err
		}
	}
	return nil
}

// rescan follows the matching streams that appeared, from f.from, and
// forgets those that are gone.
func (f *Follower) rescan(ctx context.Context) error {
	all, err := Types(ctx, f.Redis, "*")
	if err != nil {
		return err
	}
	f.types = f.types[:0]
	seen := make(map[string]bool, len(all))
	for _, typ := range all {
		if len(f.Patterns) > 0 && !Match(f.Patterns, typ) {
			continue
		}
		seen[typ] = true
		f.types = append(f.types, typ)
		if _, ok := f.last[typ]; !ok {
			f.last[typ] = f.from
		}
	}
	for typ := range f.last {
		if !seen[typ] {
			delete(f.last, typ)
		}
	}
	return nil
}

// take merges one XREAD reply into the pending entries and delivers those
// that are certainly in order: all of them, unless a stream returned a
// full page (it may hold entries older than the other streams' newest);
// then those up to the lowest last id among the full streams.
func (f *Follower) take(res []redis.XStream, deliver func([]Entry) error) error {
	watermark := ""
	for _, s := range res {
		if len(s.Messages) == 0 {
			continue
		}
		typ := strings.TrimPrefix(s.Stream, protocol.StreamKeyPrefix)
		for _, m := range s.Messages {
			f.pending = append(f.pending, Entry{Type: typ, XMessage: m})
		}
		lastID := s.Messages[len(s.Messages)-1].ID
		f.last[typ] = lastID
		if int64(len(s.Messages)) >= f.Count && (watermark == "" || protocol.CompareStreamIDs(lastID, watermark) < 0) {
			watermark = lastID
		}
	}
	return f.flush(watermark, deliver)
}

// flush delivers the pending entries up to watermark ("" = all) in id order.
func (f *Follower) flush(watermark string, deliver func([]Entry) error) error {
	if len(f.pending) == 0 {
		return nil
	}
	SortEntries(f.pending)
	n := len(f.pending)
	if watermark != "" {
		n, _ = slices.BinarySearchFunc(f.pending, watermark, func(e Entry, w string) int {
			if protocol.CompareStreamIDs(e.ID, w) <= 0 {
				return -1
			}
			return 1
		})
	}
	if n == 0 {
		return nil
	}
	batch := slices.Clone(f.pending[:n])
	rest := copy(f.pending, f.pending[n:])
	clear(f.pending[rest:])
	f.pending = f.pending[:rest]
	return deliver(batch)
}

// SortEntries orders entries by stream id, stably.
func SortEntries(es []Entry) {
	slices.SortStableFunc(es, func(x, y Entry) int { return protocol.CompareStreamIDs(x.ID, y.ID) })
}

// Types lists the event types that have a stream and match pattern ("*"
// for all; see the package doc), sorted. It reads the index of streams
// (protocol.StreamsKey) and checks which exist: O(streams), whatever else
// the keyspace holds. When there is no index (a Redis written by an older
// version, and no cbd of this one started on it since) it falls back to
// SCAN, O(keys).
func Types(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	members, err := rdb.SMembers(ctx, protocol.StreamsKey).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", protocol.StreamsKey, err)
	}
	if len(members) == 0 {
		all, err := scanTypes(ctx, rdb)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(all, func(typ string) bool { return !MatchPattern(pattern, typ) }), nil
	}
	members = slices.DeleteFunc(members, func(typ string) bool { return !MatchPattern(pattern, typ) })
	// A type may be in the index before its first entry, or after its
	// stream was deleted: keep those whose key is a stream now.
	cmds := make([]*redis.StatusCmd, len(members))
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, typ := range members {
			cmds[i] = p.Type(ctx, protocol.StreamKey(typ))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("check the streams of %s: %w", protocol.StreamsKey, err)
	}
	types := members[:0]
	for i, typ := range members {
		if cmds[i].Val() == "stream" {
			types = append(types, typ)
		}
	}
	slices.Sort(types)
	return types, nil
}

// Register adds event types to the index of streams. A writer calls it
// before (or in the same pipeline as) its first XADD to a type; adding a
// member the set holds is a no-op.
func Register(ctx context.Context, rdb redis.UniversalClient, types ...string) error {
	if len(types) == 0 {
		return nil
	}
	members := make([]any, len(types))
	for i, t := range types {
		members[i] = t
	}
	if err := rdb.SAdd(ctx, protocol.StreamsKey, members...).Err(); err != nil {
		return fmt.Errorf("register streams %v: %w", types, err)
	}
	return nil
}

// AdoptOnce indexes the streams a Redis holds from before the index
// existed: if protocol.StreamsKey is missing it SCANs the keyspace once
// (O(keys)) and registers every stream found. cbd calls it at start; it
// reports how many types it registered.
func AdoptOnce(ctx context.Context, rdb redis.UniversalClient) (int, error) {
	n, err := rdb.Exists(ctx, protocol.StreamsKey).Result()
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", protocol.StreamsKey, err)
	}
	if n > 0 {
		return 0, nil
	}
	types, err := scanTypes(ctx, rdb)
	if err != nil {
		return 0, err
	}
	return len(types), Register(ctx, rdb, types...)
}

// scanTypes lists the event types that have a stream by SCANning the whole
// keyspace, sorted.
func scanTypes(ctx context.Context, rdb redis.UniversalClient) ([]string, error) {
	var types []string
	var cursor uint64
	for {
		keys, next, err := rdb.ScanType(ctx, cursor, protocol.StreamKeyPrefix+"*", 1000, "stream").Result()
		if err != nil {
			return nil, fmt.Errorf("scan %s*: %w", protocol.StreamKeyPrefix, err)
		}
		for _, k := range keys {
			types = append(types, strings.TrimPrefix(k, protocol.StreamKeyPrefix))
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(types)
	return slices.Compact(types), nil // SCAN may repeat keys
}
