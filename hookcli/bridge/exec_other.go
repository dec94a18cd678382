//go:build !unix

package bridge

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// execCLI runs cb-cli with args and this process's stdio and environment,
// and returns its exit status (there is no exec(2) to replace the process).
func execCLI(args []string) (int, error) {
	path, err := findCLI()
	if err != nil {
		return 1, err
	}
	cmd := exec.Command(path, args...)
	cmd.Args[0] = "cb"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), nil
	default:
		return 1, fmt.Errorf("run %s: %w", path, err)
	}
}
