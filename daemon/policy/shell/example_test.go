package shell_test

import (
	"fmt"

	"github.com/claudebench/cb/daemon/policy/shell"
)

// Split lists the simple commands a Bash rule is matched against: wrappers
// stripped, quotes removed, variables and nested bash -c code followed.
func ExampleSplit() {
	for _, c := range shell.Split(`t=/; cd ~ && sudo bash -c "rm -rf $t" | tee log`) {
		fmt.Println(c)
	}
	// Output:
	// cd ~
	// bash -c 'rm -rf /'
	// rm -rf /
	// tee log
}
