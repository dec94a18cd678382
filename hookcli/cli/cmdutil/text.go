package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// OneLine makes s safe for a table cell: control characters (tabs, line
// breaks, escapes) become spaces.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Truncate shortens s to at most n runes, ending with "…" when cut.
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// HumanAge is a compact duration: 45s, 12m, 3h, 5d.
func HumanAge(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// OrDash prints "-" for an empty cell.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CompactJSON is raw on one line, safe for a table cell.
func CompactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return OneLine(string(raw))
	}
	return OneLine(b.String())
}

// WriteTSV writes rows as plain tab-separated lines: a table's output when
// stdout is not a terminal (no header, no footer, no decoration).
func WriteTSV(w io.Writer, rows [][]string) error {
	for _, r := range rows {
		for i, c := range r {
			r[i] = strings.ReplaceAll(OneLine(c), "\t", " ")
		}
		if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return nil
}

// DefaultWorkerID is $USER@host, the worker id of cb task claim, complete
// and fail (and cb work) without --worker. It is a valid instance id (no
// spaces).
var DefaultWorkerID = sync.OnceValue(func() string {
	user := os.Getenv("USER")
	if user == "" {
		user = os.Getenv("LOGNAME")
	}
	if user == "" {
		user = "cb"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = os.Getenv("HOSTNAME")
	}
	if host == "" {
		host = "localhost"
	}
	return strings.Join(strings.Fields(user+"@"+host), "-")
})

// ShellQuote quotes s for sh when it has characters sh would interpret.
func ShellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// IsExecutableFile reports whether p is a regular file someone may run.
func IsExecutableFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
