// Command cb is ClaudeBench's client: the Claude Code hook bridge and the
// shell interface to cbd.
package main

import (
	"os"

	"github.com/claudebench/cb/hookcli"
)

func main() {
	os.Exit(hookcli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
