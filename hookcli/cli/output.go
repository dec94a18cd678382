package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/claudebench/cb/hookcli/cli/iostreams"
)

// Human output of the shell commands: colors only on a terminal (and never
// with NO_COLOR or TERM=dumb), text fitted to the terminal width, and
// results printed as received with --json.

// palette colors words on a terminal; the zero value prints plain text.
type palette struct{ on bool }

// ANSI SGR colors. Every code is two digits, so every colored cell of a
// column carries escapes of the same length and tabwriter keeps it aligned.
const (
	sgrRed     = "31"
	sgrGreen   = "32"
	sgrYellow  = "33"
	sgrCyan    = "36"
	sgrDefault = "39"
)

// paint wraps s in a color when the palette is on.
func (p palette) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// status colors a task status.
func (p palette) status(s string) string {
	switch s {
	case "pending":
		return p.paint(sgrYellow, s)
	case "in_progress":
		return p.paint(sgrCyan, s)
	case "completed":
		return p.paint(sgrGreen, s)
	case "failed":
		return p.paint(sgrRed, s)
	}
	return p.paint(sgrDefault, s)
}

// health colors an instance or system health.
func (p palette) health(s string) string {
	switch s {
	case "healthy", "ok":
		return p.paint(sgrGreen, s)
	case "degraded":
		return p.paint(sgrYellow, s)
	case "unhealthy":
		return p.paint(sgrRed, s)
	}
	if strings.HasPrefix(s, "error") {
		return p.paint(sgrRed, s)
	}
	return p.paint(sgrDefault, s)
}

// header keeps a column header aligned with colored cells below it.
func (p palette) header(s string) string { return p.paint(sgrDefault, s) }

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool { return iostreams.IsTerminal(w) }

// paletteFor colors only a terminal, and not with NO_COLOR set (any value,
// see no-color.org) or TERM=dumb.
func paletteFor(w io.Writer) palette {
	if _, set := os.LookupEnv("NO_COLOR"); set || os.Getenv("TERM") == "dumb" {
		return palette{}
	}
	return palette{on: isTerminal(w)}
}

// outputWidth is the width to fit lines into: $COLUMNS if set, else the
// terminal's width; 0 (unknown) when w is not a terminal.
func outputWidth(w io.Writer) int {
	return iostreams.System(nil, w, nil).TerminalWidth()
}

// printResult prints a method's result: as received (indented, fields in
// their order) with --json, else through human.
func (a *app) printResult(raw json.RawMessage, human func(w io.Writer, p palette) error) error {
	if a.jsonOut {
		return a.f.PrintJSON(raw)
	}
	return human(a.stdout, paletteFor(a.stdout))
}

// oneLine makes s safe for a table cell: control characters (tabs, line
// breaks, escapes) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// truncate shortens s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// humanAge is a compact duration: 45s, 12m, 3h, 5d.
func humanAge(d time.Duration) string {
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

// orDash prints "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
