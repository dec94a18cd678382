// Command cb is ClaudeBench's client: the Claude Code hook bridge, which it
// runs itself, and the shell interface to cbd, which it hands over to
// cb-cli beside it.
package main

import (
	"os"

	"github.com/claudebench/cb/hookcli/bridge"
)

func main() {
	os.Exit(bridge.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
