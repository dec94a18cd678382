// Command cbd is the ClaudeBench daemon.
package main

import (
	"os"

	"github.com/claudebench/cb/daemon"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], os.Stderr))
}
