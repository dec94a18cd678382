package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/internal/streams"
	"github.com/claudebench/cb/protocol"
	"github.com/redis/go-redis/v9"
)

// RecoverConfig tunes crash recovery and retention.
type RecoverConfig struct {
	ClaimIdle     time.Duration // dispatch.claim_idle (30s)
	MaxDeliveries int64         // dispatch.max_deliveries (3)
	Retention     time.Duration // events.retention (24h)
	Interval      time.Duration // how often to look (ClaimIdle/3, at least 100ms)
}

// recoverLoop takes over requests that dead instances read but never
// acknowledged, dead-letters requests that keep crashing their handler, and
// trims the streams, until ctx is done.
func (d *Dispatcher) recoverLoop(ctx context.Context, rc RecoverConfig) {
	if rc.Interval <= 0 {
		rc.Interval = max(rc.ClaimIdle/3, 100*time.Millisecond)
	}
	t := time.NewTicker(rc.Interval)
	defer t.Stop()
	lastTrim := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, s := range d.streams {
			if err := d.recoverStream(ctx, s, rc); err != nil && ctx.Err() == nil {
				d.log.Debug("recover", "stream", s, "err", err)
			}
		}
		if time.Since(lastTrim) > time.Minute {
			lastTrim = time.Now()
			if err := Trim(ctx, d.rdb, rc.Retention); err != nil && ctx.Err() == nil {
				d.log.Debug("trim streams", "err", err)
			}
		}
	}
}

// recoverStream looks at one stream's pending entries older than ClaimIdle.
func (d *Dispatcher) recoverStream(ctx context.Context, stream string, rc RecoverConfig) error {
	pend, err := d.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: protocol.GroupName, Idle: rc.ClaimIdle, Start: "-", End: "+", Count: 100,
	}).Result()
	if err != nil {
		return err
	}
	alive := map[string]bool{}
	for _, p := range pend {
		owner := p.Consumer
		if _, ok := alive[owner]; !ok {
			if alive[owner], err = consumerAlive(ctx, d.rdb, stream, owner); err != nil {
				return err
			}
		}
		// Our own and a live instance's entries are being worked on, unless
		// their handler crashed here or they have been stuck for far longer
		// than any handler may take.
		mine := owner == d.cfg.Consumer
		if !(mine && d.crashed(p.ID)) && (mine || alive[owner]) && p.Idle < 10*rc.ClaimIdle {
			continue
		}
		if p.RetryCount >= rc.MaxDeliveries {
			if err := d.deadLetter(ctx, stream, p, rc.ClaimIdle); err != nil {
				return err
			}
			continue
		}
		msgs, err := d.rdb.XClaim(ctx, &redis.XClaimArgs{
			Stream: stream, Group: protocol.GroupName, Consumer: d.cfg.Consumer,
			MinIdle: rc.ClaimIdle, Messages: []string{p.ID},
		}).Result()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			d.log.Info("took over a request from a dead or stuck consumer", "stream", stream, "id", m.ID, "from", owner, "delivery", p.RetryCount+1)
			d.handle(ctx, stream, m)
		}
	}
	return nil
}

// consumerAlive reports whether the process behind consumer still serves
// stream. A consumer is a process ("<instance id>/<nonce>", the serving
// member of instance.Instance), alive while its lease on the stream's
// method runs (cb:serving:{method}, scored on Redis's clock). A name
// without a nonce (a cbd of an older version) is alive while its instance
// is registered.
func consumerAlive(ctx context.Context, rdb redis.UniversalClient, stream, consumer string) (bool, error) {
	if !strings.Contains(consumer, "/") {
		n, err := rdb.Exists(ctx, protocol.InstanceKey(consumer)).Result()
		return n == 1, err
	}
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return false, err
	}
	method := strings.TrimPrefix(stream, protocol.StreamKeyPrefix)
	until, err := rdb.ZScore(ctx, protocol.ServingKey(method), consumer).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil && until >= float64(now.UnixMilli()), err
}

// deadLetter moves a request that crashed its handler too often to the
// dead-letter stream and acknowledges it, so it is not retried again.
func (d *Dispatcher) deadLetter(ctx context.Context, stream string, p redis.XPendingExt, minIdle time.Duration) error {
	msgs, err := d.rdb.XClaim(ctx, &redis.XClaimArgs{
		Stream: stream, Group: protocol.GroupName, Consumer: d.cfg.Consumer,
		MinIdle: minIdle, Messages: []string{p.ID},
	}).Result()
	if err != nil || len(msgs) == 0 {
		return err // someone else got it first
	}
	raw, _ := msgs[0].Values[protocol.StreamField].(string)
	var original json.RawMessage
	if json.Valid([]byte(raw)) {
		original = json.RawMessage(raw)
	} else {
		original, _ = json.Marshal(raw)
	}
	lastErr := d.lastError(p.ID)
	payload, _ := json.Marshal(map[string]any{
		"stream": strings.TrimPrefix(stream, protocol.StreamKeyPrefix), "entryId": p.ID,
		"deliveries": p.RetryCount, "error": lastErr, "event": original,
	})
	ev := protocol.Event{Type: protocol.DeadLetterStream, Payload: payload, Metadata: protocol.Metadata{
		ID: protocol.NewID(), Timestamp: time.Now().UnixMilli(), Source: d.cfg.Consumer}}
	data, err := protocol.EncodeEvent(ev)
	if err != nil {
		return err
	}
	pipe := d.rdb.TxPipeline()
	pipe.SAdd(ctx, protocol.StreamsKey, protocol.DeadLetterStream) // the index of streams
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: protocol.StreamKey(protocol.DeadLetterStream), Values: []any{protocol.StreamField, data}})
	pipe.XAck(ctx, stream, protocol.GroupName, p.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("dead-letter %s %s: %w", stream, p.ID, err)
	}
	d.log.Warn("request moved to the dead-letter stream", "stream", stream, "id", p.ID, "deliveries", p.RetryCount, "error", lastErr)
	return nil
}

func (d *Dispatcher) crashed(entryID string) bool {
	d.crashMu.Lock()
	defer d.crashMu.Unlock()
	_, ok := d.crashes[entryID]
	return ok
}

// lastError is the crash message this instance saw for an entry, if any.
func (d *Dispatcher) lastError(entryID string) string {
	d.crashMu.Lock()
	defer d.crashMu.Unlock()
	if e, ok := d.crashes[entryID]; ok {
		delete(d.crashes, entryID)
		return e
	}
	return "handler crashed on every delivery"
}

// Trim drops events older than retention from every stream, but never an
// entry still pending in a group, and removes consumers that have nothing
// pending and have been idle longer than retention. It finds the streams
// in the index of streams (streams.Types), not by scanning the keyspace.
func Trim(ctx context.Context, rdb redis.UniversalClient, retention time.Duration) error {
	minID := strconv.FormatInt(time.Now().Add(-retention).UnixMilli(), 10) + "-0"
	types, err := streams.Types(ctx, rdb, "*")
	if err != nil {
		return err
	}
	for _, typ := range types {
		if err := trimStream(ctx, rdb, protocol.StreamKey(typ), minID, retention); err != nil {
			return err
		}
	}
	return nil
}

func trimStream(ctx context.Context, rdb redis.UniversalClient, key, minID string, retention time.Duration) error {
	groups, err := rdb.XInfoGroups(ctx, key).Result()
	if err != nil && !strings.Contains(err.Error(), "no such key") {
		return err
	}
	cut := minID
	for _, g := range groups {
		if g.Pending > 0 {
			p, err := rdb.XPending(ctx, key, g.Name).Result()
			if err != nil {
				return err
			}
			if p.Count > 0 && protocol.CompareStreamIDs(p.Lower, cut) < 0 {
				cut = p.Lower
			}
		}
		consumers, err := rdb.XInfoConsumers(ctx, key, g.Name).Result()
		if err != nil {
			return err
		}
		for _, c := range consumers {
			if c.Pending == 0 && c.Idle > retention {
				_ = rdb.XGroupDelConsumer(ctx, key, g.Name, c.Name).Err()
			}
		}
	}
	return rdb.XTrimMinID(ctx, key, cut).Err()
}
