package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/claudebench/cb/internal/resp"
	"github.com/claudebench/cb/protocol"
	"github.com/claudebench/cb/scripts"
)

// leanTransport is cb's own Redis client: one connection, RESP2, the few
// commands a hook call needs. It links neither go-redis nor crypto/tls; a
// URL it does not serve (rediss://, Sentinel, go-redis tuning options) is
// handed over to `cb-cli hook <type>` before stdin is read.
type leanTransport struct {
	hookType string
}

// Settings reads the config file with readConfigLean, and hands over to
// cb-cli when the settings cb hook reads need the full YAML parser.
func (t *leanTransport) Settings() (*Settings, error) {
	s, err := LoadSettings(readConfigForHook)
	if errors.Is(err, errNeedsYAML) {
		return s, fmt.Errorf("config file needs cb-cli's YAML parser: %w", handOver([]string{"hook", t.hookType}))
	}
	return s, err
}

func (t *leanTransport) Open(rawURL string) (Conn, error) {
	addr, lean, err := parseLeanURL(rawURL)
	if err != nil {
		return nil, err
	}
	if !lean {
		return nil, fmt.Errorf("redis url needs cb-cli: %w", handOver([]string{"hook", t.hookType}))
	}
	return &respConn{addr: addr}, nil
}

// redisAddr is what the lean client takes from a Redis URL.
type redisAddr struct {
	network, addr      string
	username, password string
	db                 int
}

// parseLeanURL reads a redis:// or unix:// URL with go-redis's semantics
// (redis.ParseURL): user and password from the user info, the database from
// the path (redis://) or ?db=. lean is false for what only go-redis serves:
// rediss:// (TLS), Sentinel (?master_name=), any other query option, and
// anything malformed beyond url.Parse (cb-cli then reports it).
func parseLeanURL(rawURL string) (a redisAddr, lean bool, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return a, false, fmt.Errorf("redis url: %w", err)
	}
	q := u.Query()
	for k := range q {
		if k != "db" {
			return a, false, nil
		}
	}
	if u.User != nil {
		a.username = u.User.Username()
		a.password, _ = u.User.Password()
	}
	switch u.Scheme {
	case "redis":
		host, port := u.Hostname(), u.Port()
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "6379"
		}
		a.network, a.addr = "tcp", net.JoinHostPort(host, port)
		f := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
		switch len(f) {
		case 0:
		case 1:
			if a.db, err = strconv.Atoi(f[0]); err != nil {
				return a, false, nil
			}
		default:
			return a, false, nil
		}
	case "unix":
		if strings.TrimSpace(u.Path) == "" {
			return a, false, nil
		}
		a.network, a.addr = "unix", u.Path
	default:
		return a, false, nil
	}
	if s := q.Get("db"); s != "" {
		if a.db, err = strconv.Atoi(s); err != nil {
			return a, false, nil
		}
	}
	return a, true, nil
}

// respConn is one call's connection, dialed by CallEvent.
type respConn struct {
	addr redisAddr
	c    net.Conn
	r    *bufio.Reader
	buf  []byte
	wait time.Duration // the BLPOP's timeout
}

// dialTimeout bounds the dial like go-redis's DialTimeout for cb.
const dialTimeout = 2 * time.Second

func (c *respConn) Close() error {
	if c.c == nil {
		return nil
	}
	return c.c.Close()
}

// CallEvent is protocol/client.Client.CallEvent over RESP2 in one write:
// [AUTH, SELECT,] EVAL of call.lua, and the BLPOP on the answer. The
// script's reply is read first; when it says nobody will answer (unknown
// method, no live cbd) or fails, the call returns at once without waiting
// for the BLPOP, and closing the connection ends it on the server.
func (c *respConn) CallEvent(ctx context.Context, ev protocol.Event) (json.RawMessage, error) {
	deadline, data, err := protocol.PrepareCall(ctx, &ev)
	if err != nil {
		return nil, err
	}
	reply, err := c.send(ctx, deadline, ev, data)
	if err != nil {
		return nil, protocol.UnavailableError("send "+ev.Type, err)
	}
	if perr := protocol.CallReplyError(ev, reply); perr != nil {
		return nil, perr
	}
	return c.await(ctx)
}

// send dials and writes the whole call (see CallEvent), then reads up to
// the script's reply and returns it.
func (c *respConn) send(ctx context.Context, deadline time.Time, ev protocol.Event, data []byte) ([]any, error) {
	c.wait = time.Until(deadline)
	if c.wait < time.Millisecond {
		return nil, context.DeadlineExceeded
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := (&net.Dialer{}).DialContext(dctx, c.addr.network, c.addr.addr)
	cancel()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(deadline)
	c.c, c.r = conn, bufio.NewReader(conn)
	if c.addr.password != "" {
		// As go-redis's HELLO ... AUTH: a password without a user name is
		// the default user's (which any password opens when it has none).
		user := c.addr.username
		if user == "" {
			user = "default"
		}
		c.cmd("AUTH", user, c.addr.password)
	}
	if c.addr.db > 0 {
		c.cmd("SELECT", strconv.Itoa(c.addr.db))
	}
	// EVAL, not EVALSHA: Redis caches the compiled script by its hash
	// anyway, and a NOSCRIPT could not be retried ahead of a BLPOP already
	// sent.
	keys := protocol.CallKeys(ev.Type, protocol.RequestRateKey(ev))
	args := make([]string, 0, 3+len(keys)+6)
	args = append(args, "EVAL", scripts.Call, strconv.Itoa(len(keys)))
	args = append(args, keys...)
	c.cmd(append(args, strconv.FormatInt(time.Now().UnixMilli(), 10), string(data), ev.Type,
		protocol.StreamField, ev.Metadata.ID, protocol.StreamRateCheckedField)...)
	c.cmd("BLPOP", protocol.ResponseKey(ev.Metadata.CorrelationID), protocol.BLPOPTimeout(c.wait))
	if _, err := c.c.Write(c.buf); err != nil {
		return nil, err
	}
	if c.addr.password != "" {
		if _, err := c.reply(); err != nil {
			return nil, err
		}
	}
	if c.addr.db > 0 {
		if _, err := c.reply(); err != nil {
			return nil, err
		}
	}
	res, err := c.reply()
	if err != nil {
		return nil, err
	}
	arr, _ := res.([]any) // its shape is checked by protocol.CallReplyError
	return arr, nil
}

// await is protocol/client.Client.Await: the BLPOP's reply, the Response
// decoded.
func (c *respConn) await(ctx context.Context) (json.RawMessage, error) {
	res, err := c.reply()
	if err != nil {
		var ne net.Error
		if ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, protocol.NoAnswerError(c.wait)
		}
		return nil, protocol.UnavailableError("await answer", err)
	}
	if res == nil {
		return nil, protocol.NoAnswerError(c.wait)
	}
	arr, _ := res.([]any)
	payload, ok := "", false
	if len(arr) == 2 {
		payload, ok = arr[1].(string)
	}
	if !ok {
		return nil, &protocol.Error{Code: protocol.CodeInternal, Message: "malformed BLPOP reply"}
	}
	return protocol.DecodeAnswer([]byte(payload))
}

// cmd appends one command to the write buffer.
func (c *respConn) cmd(args ...string) { c.buf = resp.AppendCommand(c.buf, args...) }

// reply reads one reply (see resp.Read).
func (c *respConn) reply() (any, error) { return resp.Read(c.r) }
