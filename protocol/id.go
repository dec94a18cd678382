package protocol

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"time"
)

// NewID returns a unique, roughly time-ordered identifier for events and
// correlations: the unix-ms time in base 36, a dash, and 64 random bits.
// The bits come from math/rand/v2's generator (ChaCha8, seeded per process
// from the OS): unique, not secret. Ids are never credentials, and
// crypto/rand's package inits would cost every cb hook call ~0.06 ms.
func NewID() string {
	var b [8]byte
	u := rand.Uint64()
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	return strconv.FormatInt(time.Now().UnixMilli(), 36) + "-" + hex.EncodeToString(b[:])
}
