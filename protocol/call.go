package protocol

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultCallTimeout is a call's deadline when its context has none.
const DefaultCallTimeout = 30 * time.Second

// PrepareCall readies ev to be sent as a correlated request: its
// correlation id (its own id unless set) and its deadline (ctx's, else
// DefaultCallTimeout from now) go into its metadata, and it is encoded.
// Both Redis clients (protocol/client and cb's lean one) send what it
// returns with scripts.Call.
func PrepareCall(ctx context.Context, ev *Event) (deadline time.Time, data []byte, err error) {
	if ev.Metadata.CorrelationID == "" {
		ev.Metadata.CorrelationID = ev.Metadata.ID
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultCallTimeout)
	}
	ev.Metadata.Deadline = deadline.UnixMilli()
	data, err = EncodeEvent(*ev)
	return deadline, data, err
}

// CallKeys are call.lua's KEYS for a request of method whose rate limit
// counts in rateKey (RequestRateKey of the request); see the script's
// header for its ARGV.
func CallKeys(method, rateKey string) []string {
	return []string{ServingKey(method), MethodsKey, StreamKey(method), LimitsKey, rateKey, RateLimitedKey}
}

// CallStatusError is what a caller of method gets for status, the first
// element of call.lua's reply: nil for 1 (appended, and served), an
// unknown-method error for -1, and for 0 (no live instance holds a lease on
// the method, so nothing was appended) an unavailable error: the caller is
// not made to wait for an answer nobody is there to give, and no request is
// left behind to run after it was told it failed.
func CallStatusError(method string, status int64) *Error {
	switch status {
	case 1:
		return nil
	case -1:
		return &Error{Code: CodeMethodNotFound, Message: "unknown method " + method}
	case 0:
		return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("no cbd instance is serving %s (is cbd running?)", method)}
	}
	return &Error{Code: CodeInternal, Message: fmt.Sprintf("call.lua answered status %d for %s", status, method)}
}

// StatusRateLimited is call.lua's status for a request over its rate
// limit: nothing was appended; the reply's second and third elements are
// the milliseconds until a retry can pass and the limit. A hook request
// never gets it: over the limit it is appended marked StreamRateShed.
const StatusRateLimited = -2

// CallReplyError is what the caller of ev gets for call.lua's reply
// (status, then the entry id or, when rate limited, retryAfterMs and the
// limit): nil when the request was appended and is served.
func CallReplyError(ev Event, reply []any) *Error {
	if len(reply) < 2 {
		return &Error{Code: CodeInternal, Message: fmt.Sprintf("malformed call.lua reply for %s", ev.Type)}
	}
	status, _ := reply[0].(int64)
	if status == StatusRateLimited && len(reply) >= 3 {
		retry, _ := reply[1].(int64)
		limit, _ := reply[2].(int64)
		return RateLimitedError(ev.Type, RateSource(ev), limit, retry)
	}
	return CallStatusError(ev.Type, status)
}

// ShedsOverLimit reports whether a request of method over its rate limit
// still runs, in shed mode (rules evaluated, extras such as audit detail
// skipped), instead of being refused: true for the hook methods, whose
// answer must not depend on how many requests others send under the same
// session id. call.lua applies the same test to the method name.
func ShedsOverLimit(method string) bool { return strings.HasPrefix(method, "hook.") }

// RateLimitedError is the error of a request over its rate limit, whether
// call.lua or cbd's guard found it so.
func RateLimitedError(method, source string, limit, retryAfterMs int64) *Error {
	return &Error{Code: CodeRateLimited,
		Message: fmt.Sprintf("%s: more than %d requests/s from %s", method, limit, source),
		Data:    map[string]any{"retryAfterMs": retryAfterMs}}
}

// BLPOPTimeout is BLPOP's timeout argument for waiting wait: fractional
// seconds (Redis >= 6), never 0, which would mean forever.
func BLPOPTimeout(wait time.Duration) string {
	return strconv.FormatFloat(max(wait, time.Millisecond).Seconds(), 'f', 3, 64)
}

// NoAnswerError is the error of a call whose answer did not come within wait.
func NoAnswerError(wait time.Duration) *Error {
	return &Error{Code: CodeTimeout, Message: fmt.Sprintf("no answer within %s", wait.Round(time.Millisecond))}
}

// UnavailableError is the error of a call that Redis failed during what.
func UnavailableError(what string, err error) *Error {
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s: redis: %v", what, err)}
}

// DecodeAnswer reads the Response a handler pushed to cb:response:{id}:
// its result, or its error.
func DecodeAnswer(payload []byte) (json.RawMessage, error) {
	var resp Response
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "malformed response: " + err.Error()}
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp.Result, nil
}
