// Package client sends ClaudeBench events and correlated requests over
// Redis streams with go-redis (Call, Publish, Await) and opens Redis URLs.
// It is the daemon's and the shell commands' client; the lean cb hook path
// speaks RESP itself and does not import it.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts/redisscript"
	"github.com/redis/go-redis/v9"
)

// Client sends events and requests over Redis streams.
type Client struct {
	rdb    redis.UniversalClient
	source string
}

// New wraps a go-redis client. source names the producer in event
// metadata (e.g. "cb", "cb-hook"). Call blocks in BLPOP until the context's
// deadline, so give rdb ContextTimeoutEnabled and a ReadTimeout of -1 (or
// one longer than any call's deadline).
func New(rdb redis.UniversalClient, source string) *Client {
	return &Client{rdb: rdb, source: source}
}

// Redis returns the underlying go-redis client.
func (c *Client) Redis() redis.UniversalClient { return c.rdb }

// Options are per-call settings.
type Options struct {
	// SessionID is copied into the event metadata.
	SessionID string
}

// NewEvent builds the envelope for payload, which may be a json.RawMessage or
// []byte holding valid JSON (used as is), or any value encoding/json can
// marshal.
func (c *Client) NewEvent(eventType string, payload any, sessionID string) (protocol.Event, error) {
	raw, err := marshalPayload(payload)
	if err != nil {
		return protocol.Event{}, err
	}
	return protocol.NewEvent(eventType, raw, c.source, sessionID), nil
}

func marshalPayload(payload any) (json.RawMessage, error) {
	switch p := payload.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		return p, nil
	case []byte:
		return json.RawMessage(p), nil
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		return b, nil
	}
}

// xaddArgs builds the XADD arguments for ev.
func xaddArgs(ev protocol.Event) (*redis.XAddArgs, error) {
	data, err := protocol.EncodeEvent(ev)
	if err != nil {
		return nil, err
	}
	return &redis.XAddArgs{Stream: protocol.StreamKey(ev.Type), Values: []any{protocol.StreamField, data}}, nil
}

// Publish appends a fire-and-forget event to its stream and returns the
// stream entry id.
func (c *Client) Publish(ctx context.Context, eventType string, payload any, opt Options) (string, error) {
	ev, err := c.NewEvent(eventType, payload, opt.SessionID)
	if err != nil {
		return "", err
	}
	return c.PublishEvent(ctx, ev)
}

// PublishEvent appends a prepared event to its stream.
func (c *Client) PublishEvent(ctx context.Context, ev protocol.Event) (string, error) {
	args, err := xaddArgs(ev)
	if err != nil {
		return "", err
	}
	// The type joins the index of streams (cb:streams) in the same round
	// trip, so readers find the stream without scanning the keyspace.
	var xadd *redis.StringCmd
	if _, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, protocol.StreamsKey, ev.Type)
		xadd = p.XAdd(ctx, args)
		return nil
	}); err != nil {
		return "", protocol.UnavailableError("publish "+ev.Type, err)
	}
	return xadd.Val(), nil
}

// Call sends a request and waits for its answer until ctx is done. It fails
// fast with protocol.CodeMethodNotFound for a method no cbd ever registered and with
// protocol.CodeUnavailable when no live instance serves it. The returned error
// is a *protocol.Error for answers carrying an error, for an expired deadline
// (protocol.CodeTimeout) and for an unreachable Redis (protocol.CodeUnavailable).
func (c *Client) Call(ctx context.Context, eventType string, payload any, opt Options) (json.RawMessage, error) {
	ev, err := c.NewEvent(eventType, payload, opt.SessionID)
	if err != nil {
		return nil, err
	}
	return c.CallEvent(ctx, ev)
}

// CallEvent is Call for a prepared event; it sets the correlation id and
// deadline in ev's metadata.
func (c *Client) CallEvent(ctx context.Context, ev protocol.Event) (json.RawMessage, error) {
	_, data, err := protocol.PrepareCall(ctx, &ev)
	if err != nil {
		return nil, err
	}
	// One round trip, one script: refuse unknown methods and callers over
	// the rate limit, append the request, and say whether anybody serves it.
	res, err := redisscript.Call().Run(ctx, c.rdb, protocol.CallKeys(ev.Type, protocol.RequestRateKey(ev)),
		time.Now().UnixMilli(), data, ev.Type, protocol.StreamField, ev.Metadata.ID, protocol.StreamRateCheckedField).Slice()
	if err != nil {
		return nil, protocol.UnavailableError("send "+ev.Type, err)
	}
	if perr := protocol.CallReplyError(ev, res); perr != nil {
		return nil, perr
	}
	return c.Await(ctx, ev.Metadata.CorrelationID)
}

// Await blocks until the answer to correlationID arrives or ctx is done.
func (c *Client) Await(ctx context.Context, correlationID string) (json.RawMessage, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(protocol.DefaultCallTimeout)
	}
	wait := time.Until(deadline)
	if wait < time.Millisecond {
		return nil, &protocol.Error{Code: protocol.CodeTimeout, Message: "deadline expired before the answer arrived"}
	}
	res, err := c.rdb.Do(ctx, "BLPOP", protocol.ResponseKey(correlationID), protocol.BLPOPTimeout(wait)).StringSlice()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, protocol.NoAnswerError(wait)
	case err != nil:
		if ctx.Err() != nil || isTimeout(err) {
			return nil, protocol.NoAnswerError(wait)
		}
		return nil, protocol.UnavailableError("await answer", err)
	case len(res) != 2:
		return nil, &protocol.Error{Code: protocol.CodeInternal, Message: "malformed BLPOP reply"}
	}
	return protocol.DecodeAnswer([]byte(res[1]))
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
