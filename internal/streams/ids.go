package streams

import (
	"math"
	"strconv"
	"strings"

	"github.com/claudebench/cb/protocol"
)

// NextID is the smallest stream id after id. "<ms>" stands for
// "<ms>-<max seq>" (as XREAD reads it), so "<ms>" gives "<ms+1>-0". An id
// that does not parse is returned as it is.
func NextID(id string) string {
	ms, seq, ok := protocol.ParseStreamID(id)
	if !ok {
		return id
	}
	if !strings.Contains(id, "-") || seq == math.MaxUint64 {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

// PrevID is the greatest stream id before id: XREAD from it returns id
// and what follows. "0-0" and ids that do not parse give "0-0".
func PrevID(id string) string {
	ms, seq, ok := protocol.ParseStreamID(id)
	switch {
	case !ok || (ms == 0 && seq == 0):
		return "0-0"
	case seq == 0:
		return IDBefore(int64(ms))
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
}

// IDBefore is the greatest stream id before millisecond ms: XREAD from it
// returns every entry written at ms or later.
func IDBefore(ms int64) string {
	return strconv.FormatInt(ms-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10)
}
