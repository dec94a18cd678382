// Package iostreams holds the standard streams of one cb command and what
// is known about them: whether stdout is a terminal, whether to color, how
// wide to print. Commands print to these, never to os.Stdout, so that tests
// can hand them buffers (Test) and pretend to be a terminal.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strconv"
)

// IOStreams are a command's stdin, stdout and stderr.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdoutTTY  bool
	colorOn    bool
	width      int
	widthKnown bool
}

// System wraps the process's streams (or any others): stdout counts as a
// terminal when it is a character device; colors are on only then, and
// never with NO_COLOR set (any value, see no-color.org) or TERM=dumb.
func System(in io.Reader, out, errOut io.Writer) *IOStreams {
	tty := isTerminal(out)
	_, noColor := os.LookupEnv("NO_COLOR")
	return &IOStreams{
		In: in, Out: out, ErrOut: errOut,
		stdoutTTY: tty,
		colorOn:   tty && !noColor && os.Getenv("TERM") != "dumb",
	}
}

// Test returns streams on buffers: stdin (write to it before the command
// runs), stdout and stderr. They are not a terminal until SetStdoutTTY.
func Test() (ios *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, widthKnown: true}, in, out, errOut
}

// IsStdoutTTY reports whether stdout is a terminal: human output (aligned
// tables with a header, indented JSON) rather than output for a program.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// SetStdoutTTY makes stdout count as a terminal, or not.
func (s *IOStreams) SetStdoutTTY(tty bool) { s.stdoutTTY = tty }

// ColorEnabled reports whether to print ANSI colors on stdout.
func (s *IOStreams) ColorEnabled() bool { return s.colorOn }

// SetColorEnabled turns colors on or off.
func (s *IOStreams) SetColorEnabled(on bool) { s.colorOn = on }

// TerminalWidth is the width to fit lines into: $COLUMNS if set, else the
// terminal's width; 0 (unknown) when stdout is not a terminal.
func (s *IOStreams) TerminalWidth() int {
	if s.widthKnown {
		return s.width
	}
	if !s.stdoutTTY {
		return 0
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := s.Out.(*os.File); ok {
		return terminalColumns(f)
	}
	return 0
}

// SetTerminalWidth fixes the width TerminalWidth reports.
func (s *IOStreams) SetTerminalWidth(n int) { s.width, s.widthKnown = n, true }

// ColorScheme colors words on stdout when colors are enabled.
func (s *IOStreams) ColorScheme() ColorScheme { return ColorScheme{on: s.colorOn} }

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool { return isTerminal(w) }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
