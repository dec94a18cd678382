package iostreams

import "strings"

// ColorScheme colors words on a terminal; the zero value prints plain text.
type ColorScheme struct{ on bool }

// NewColorScheme returns a scheme that colors when on.
func NewColorScheme(on bool) ColorScheme { return ColorScheme{on: on} }

// ANSI SGR colors. Every code is two digits, so every colored cell of a
// column carries escapes of the same length and tabwriter keeps it aligned.
const (
	sgrRed     = "31"
	sgrGreen   = "32"
	sgrYellow  = "33"
	sgrCyan    = "36"
	sgrDefault = "39"
)

// Enabled reports whether the scheme colors.
func (p ColorScheme) Enabled() bool { return p.on }

func (p ColorScheme) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Red, Green, Yellow and Cyan color s.
func (p ColorScheme) Red(s string) string { return p.paint(sgrRed, s) }

// Green colors s.
func (p ColorScheme) Green(s string) string { return p.paint(sgrGreen, s) }

// Yellow colors s.
func (p ColorScheme) Yellow(s string) string { return p.paint(sgrYellow, s) }

// Cyan colors s.
func (p ColorScheme) Cyan(s string) string { return p.paint(sgrCyan, s) }

// Status colors a task status.
func (p ColorScheme) Status(s string) string {
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

// Health colors an instance or system health.
func (p ColorScheme) Health(s string) string {
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

// Header keeps a column header aligned with colored cells below it.
func (p ColorScheme) Header(s string) string { return p.paint(sgrDefault, s) }

// Plain paints s in the default color: a cell of a column whose other cells
// are colored, so that every cell carries escapes of one length.
func (p ColorScheme) Plain(s string) string { return p.paint(sgrDefault, s) }

// Gray colors s bright black (timestamps).
func (p ColorScheme) Gray(s string) string { return p.paint("90", s) }
