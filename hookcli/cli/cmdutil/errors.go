package cmdutil

import (
	"errors"
	"fmt"
)

// ExitError carries an exit status out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the exit status.
func (e *ExitError) ExitCode() int { return e.Code }

// Exit wraps err with an exit status.
func Exit(code int, err error) *ExitError { return &ExitError{Code: code, Err: err} }

// UsageExit is the exit status of a usage error (wrong arguments or flags).
const UsageExit = 2

// FlagError is an invalid command line: cb prints it with the command's
// usage and exits UsageExit.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf is a usage error.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrInterrupted is a command stopped by an interrupt (Ctrl-C): exit 130.
var ErrInterrupted = &ExitError{Code: 130, Err: errors.New("interrupted")}
