// Command cb-cli is the shell side of cb: every command but `cb hook`. cb
// hands over to it with exec, so keep it beside cb (make build does).
package main

import (
	"os"

	"github.com/claudebench/cb/hookcli/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
