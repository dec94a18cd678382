// Package api is the wire contract of cbd's methods in Go: one type for the
// params and one for the result of every method in schemas/methods. A test
// checks each pair against its JSON Schema, so a change to a schema that is
// not made here too (or the other way round) fails the build's tests.
//
// Field tags follow one rule the test relies on: a property the schema
// requires has no omitempty (it is always sent); an optional one has
// omitempty, or, when it is always sent all the same, the tag
// schema:"optional".
//
// The package imports only the standard library, so any binary, the lean
// hook client included, may use it.
package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is the one form of every timestamp on the wire: RFC 3339 in
// UTC with exactly three fractional digits ("2026-12-05T00:45:45.900Z").
// The task scripts write the same form (scripts/tasks/lib.lua, iso).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a timestamp that encodes in TimeLayout. encoding/json's own form
// for time.Time drops trailing zeros ("45.9Z", "45Z"), so the same instant
// would read differently depending on who wrote it.
type Time struct {
	time.Time
}

// TimeOf wraps t.
func TimeOf(t time.Time) Time { return Time{Time: t} }

// FormatTime formats t in TimeLayout, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// String is t in TimeLayout.
func (t Time) String() string { return FormatTime(t.Time) }

// MarshalJSON encodes t as a JSON string in TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts any RFC 3339 time (any number of fractional
// digits, any offset); null leaves t unchanged.
func (t *Time) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time: %w", err)
	}
	t.Time = v
	return nil
}

// NoParams are the params of a method that takes none.
type NoParams struct{}
