package protocol

import (
	"strconv"
	"strings"
)

// ParseStreamID parses a Redis stream entry id "<ms>-<seq>" (or "<ms>").
func ParseStreamID(id string) (ms, seq uint64, ok bool) {
	msPart, seqPart, hasSeq := strings.Cut(id, "-")
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil || msPart == "" || msPart[0] == '+' {
		return 0, 0, false
	}
	if hasSeq {
		if seq, err = strconv.ParseUint(seqPart, 10, 64); err != nil || seqPart == "" || seqPart[0] == '+' {
			return 0, 0, false
		}
	}
	return ms, seq, true
}

// CompareStreamIDs orders stream entry ids by time, then sequence
// (unparsable ids sort as 0-0).
func CompareStreamIDs(a, b string) int {
	am, as, _ := ParseStreamID(a)
	bm, bs, _ := ParseStreamID(b)
	switch {
	case am < bm:
		return -1
	case am > bm:
		return 1
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}
