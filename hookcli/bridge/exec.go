package bridge

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// handOver runs cb-cli with args in this process's place: exec on unix,
// else run it and exit with its status. It returns only when cb-cli cannot
// be started.
func handOver(args []string) error {
	code, err := execCLI(args)
	if err != nil {
		return err
	}
	os.Exit(code)
	return nil
}

// findCLI returns the path of cb-cli: beside the resolved executable of
// this cb first, then on PATH. The error names where it looked.
func findCLI() (string, error) {
	name := CLIName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	var looked []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		p := filepath.Join(filepath.Dir(exe), name)
		if isExecutable(p) {
			return p, nil
		}
		looked = append(looked, filepath.Dir(exe))
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // like exec.LookPath, never run a relative path found on PATH
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	looked = append(looked, "PATH")
	return "", errors.New(name + " not found (looked in " + strings.Join(looked, " and ") +
		"); `make build` builds cb, cb-cli and cbd side by side")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() {
		return false
	}
	return runtime.GOOS == "windows" || fi.Mode()&0o111 != 0
}
