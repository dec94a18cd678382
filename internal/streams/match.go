// Package streams reads the event streams (cb:stream:TYPE in Redis) that
// every cbd, cb hook, cb emit and task change writes to. cb events and the
// daemon's /ws share it, so both take the same patterns and follow streams
// the same way.
//
// # Patterns
//
// A pattern selects event types. There is one dialect, the same for
// cb events tail and a WebSocket subscribe:
//
//   - "*" matches any run of characters, dots included, so "*" is every
//     type, "task.*" every type starting with "task.", "*.claimed" every
//     type ending in ".claimed" and "hook.*_tool" hook.pre_tool and
//     hook.post_tool;
//   - every other character stands for itself ("task.created" matches only
//     task.created).
//
// A valid pattern is 1 to MaxPatternLen bytes long.
package streams

import "strings"

// MaxPatternLen is the longest pattern accepted.
const MaxPatternLen = 200

// ValidPattern reports whether p is a pattern: not empty and at most
// MaxPatternLen bytes.
func ValidPattern(p string) bool { return p != "" && len(p) <= MaxPatternLen }

// Match reports whether the event type typ matches one of the patterns.
func Match(patterns []string, typ string) bool {
	for _, p := range patterns {
		if MatchPattern(p, typ) {
			return true
		}
	}
	return false
}

// MatchPattern reports whether the event type typ matches pattern.
func MatchPattern(pattern, typ string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == typ
	}
	prefix := pattern[:star]
	if !strings.HasPrefix(typ, prefix) {
		return false
	}
	typ, rest := typ[len(prefix):], strings.TrimLeft(pattern[star+1:], "*")
	if rest == "" {
		return true
	}
	// Try every position for the rest (patterns and types are short).
	for i := 0; i <= len(typ); i++ {
		if MatchPattern(rest, typ[i:]) {
			return true
		}
	}
	return false
}
