// Package policytest serves cbd's built-in policy rules to tests that
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

// DefaultEngine returns an engine of the built-in rules.
func DefaultEngine(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := policy.New(policy.DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return e
}
