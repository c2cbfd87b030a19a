package planner

import "testing"

// A target matches an object's own changes, its sub-addresses and, for a
// package, its policies; kinds may be camel-cased, a package named without
// its catalog, and * matches any characters.
func TestTargetsMatchObjectsAndTheirParts(t *testing.T) {
	for _, tc := range []struct {
		target, addr string
		want         bool
	}{
		{`group["Team *"]`, `group["Team A"]`, true},
		{`group["Team *"]`, `group["Team A/B"].members`, true},
		{`group["team a"]`, `group["Team A"].cloudManaged`, true},
		{`group["Team A"]`, `group["Team AB"]`, false},
		{`accessPackage["Sales"]`, `access_package["Teams"/"Sales"].roles`, true},
		{`accessPackage["Sales"]`, `assignment_policy["Teams"/"Sales"/"Direct"]`, true},
		{`access_package["Teams"/"Sales"]`, `access_package["Other"/"Sales"]`, false},
		{`blueprint["Ticket*"]`, `blueprint["Ticket triage agent"].credentials["github"]`, true},
		{`group["Finance"].members`, `group["Finance"]`, false},
	} {
		ts, err := compileTargets([]string{tc.target})
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, o := range owners(tc.addr) {
			got = got || ts[0].match(o)
		}
		if got != tc.want {
			t.Errorf("--target %s on %s: %v, want %v (owners %q)", tc.target, tc.addr, got, tc.want, owners(tc.addr))
		}
	}
	if _, err := compileTargets([]string{"Finance"}); err == nil {
		t.Error("a bare name is accepted as a target")
	}
}
