//go:build unix

package bridge

import (
	"fmt"
	"os"
	"syscall"
)

// execCLI replaces this process with cb-cli, passing args after the
// program name "cb" and the same environment. It returns only on failure.
func execCLI(args []string) (int, error) {
	path, err := findCLI()
	if err != nil {
		return 1, err
	}
	argv := append([]string{"cb"}, args...)
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return 1, fmt.Errorf("exec %s: %w", path, err)
	}
	return 0, nil // not reached
}
