package protocol

import (
	"errors"
	"fmt"
)

// Code is a JSON-RPC style error code. The same code travels over every
// transport (Redis streams, HTTP JSON-RPC, WebSocket, MCP).
type Code int

// The error code table. Standard JSON-RPC 2.0 codes first, then the project's
// own codes in the implementation-defined server error range.
const (
	CodeParseError     Code = -32700 // the request is not valid JSON
	CodeInvalidRequest Code = -32600 // the envelope is not a valid request
	CodeMethodNotFound Code = -32601 // no handler is registered for the method
	CodeInvalidParams  Code = -32602 // params fail the method's input schema
	CodeInternal       Code = -32603 // a handler failed or panicked
	CodeRateLimited    Code = -32001 // rate limit exceeded; data.retryAfterMs says when to retry
	CodeCircuitOpen    Code = -32002 // the handler's circuit breaker is open
	CodeTimeout        Code = -32003 // the handler or the caller's deadline expired
	CodeNotFound       Code = -32004 // the addressed entity does not exist
	CodeConflict       Code = -32005 // the request conflicts with the entity's state
	CodeUnavailable    Code = -32006 // Redis or the daemon cannot be reached
	CodeUnauthorized   Code = -32007 // a token is required or wrong
	CodeTooLarge       Code = -32008 // the request exceeds a size limit
)

// CodeInfo documents one error code.
type CodeInfo struct {
	Code Code
	Name string
	Doc  string
	// Exit is the exit status the cb CLI uses for an error of this code.
	Exit int
}

// Codes is the one table of error codes; README's table is generated from it.
var Codes = []CodeInfo{
	{CodeParseError, "parse_error", "the request is not valid JSON", 3},
	{CodeInvalidRequest, "invalid_request", "the envelope is not a valid request", 3},
	{CodeMethodNotFound, "method_not_found", "no handler is registered for the method", 3},
	{CodeInvalidParams, "invalid_params", "params fail the method's input schema; data.errors lists the failing field paths", 3},
	{CodeInternal, "internal_error", "a handler failed or panicked", 4},
	{CodeRateLimited, "rate_limited", "rate limit exceeded; data.retryAfterMs says when to retry", 5},
	{CodeCircuitOpen, "circuit_open", "the handler's circuit breaker is open", 5},
	{CodeTimeout, "timeout", "the handler or the caller's deadline expired", 6},
	{CodeNotFound, "not_found", "the addressed entity does not exist", 7},
	{CodeConflict, "conflict", "the request conflicts with the entity's current state", 8},
	{CodeUnavailable, "unavailable", "Redis or the daemon cannot be reached", 6},
	{CodeUnauthorized, "unauthorized", "a token is required or wrong", 3},
	{CodeTooLarge, "too_large", "the request exceeds a size limit", 3},
}

// Info returns the table entry for c, or a generic entry for unknown codes.
func (c Code) Info() CodeInfo {
	for _, ci := range Codes {
		if ci.Code == c {
			return ci
		}
	}
	return CodeInfo{Code: c, Name: "error", Doc: "unknown error code", Exit: 1}
}

// Error is the typed error carried by a response.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Code.Info().Name, int(e.Code), e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns the *Error in err's chain, or wraps err as an internal error.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

// CodeOf returns the code of err (0 when err is nil).
func CodeOf(err error) Code {
	if err == nil {
		return 0
	}
	return AsError(err).Code
}
