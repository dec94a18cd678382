// Package policytest looks up cbd's built-in policy rules for tests that
// check the answers a hook gets, without each test reading them anew.
package policytest

import (
	"testing"

	"github.com/claudebench/cb/daemon/policy"
)

// DefaultReason returns the reason of the built-in rule id; the test fails
// if there is no such rule.
func DefaultReason(t testing.TB, id string) string {
	t.Helper()
	for _, r := range policy.DefaultRules() {
		if r.ID == id {
			return r.Reason
		}
	}
	t.Fatalf("no default rule %s", id)
	return ""
}
