package planner

import (
	"testing"

	"github.com/entrasync/entrasync/model"
)

func TestCoversAndWithin(t *testing.T) {
	alice := Member{Kind: model.User, ID: "a1", Label: "alice@contoso.com"}
	bob := Member{Kind: model.User, ID: "b2", Label: "bob@contoso.com"}
	carol := Member{Kind: model.User, ID: "c3", Label: "carol@contoso.com"}
	newGroup := Member{Kind: model.GroupKind, Address: `group["Team"]`, Label: "Team"}
	orig := &Change{Address: `group["X"].members`, Kind: KindGroupMembers, Action: Update,
		Members: &MemberDiff{Add: []Member{alice, newGroup}, Remove: []Member{bob}}}
	members := func(add, remove []Member) *Change {
		return &Change{Address: orig.Address, Kind: orig.Kind, Action: Update, Members: &MemberDiff{Add: add, Remove: remove}}
	}
	seen := Member{Kind: model.GroupKind, ID: "g9", Label: "Team"} // the created group, now with its id
	for _, tc := range []struct {
		name           string
		fresh          *Change
		covers, within bool
	}{
		{"the same change again", members([]Member{alice}, []Member{bob}), true, true},
		{"a created group, now read with its id", members([]Member{seen}, nil), true, true},
		{"an add the reviewed change did not make", members([]Member{carol}, nil), true, false},
		{"a removal the reviewed change did not plan", members(nil, []Member{carol}), false, false},
		{"another address", &Change{Address: `group["Y"].members`, Kind: KindGroupMembers, Action: Update, Members: &MemberDiff{}}, false, false},
		{"a delete after an update", &Change{Address: orig.Address, Kind: orig.Kind, Action: Delete}, false, false},
	} {
		if got := Covers(orig, tc.fresh); got != tc.covers {
			t.Errorf("%s: Covers = %v, want %v", tc.name, got, tc.covers)
		}
		if got := Within(orig, tc.fresh); got != tc.within {
			t.Errorf("%s: Within = %v, want %v", tc.name, got, tc.within)
		}
	}

	create := &Change{Address: `group["X"]`, Kind: KindGroup, Action: Create, Fields: []FieldDiff{{Field: "displayName", After: "X"}, {Field: "description", After: "d"}}}
	update := &Change{Address: `group["X"]`, Kind: KindGroup, Action: Update, Fields: []FieldDiff{{Field: "description", Before: "old", After: "d"}}}
	if !Covers(create, update) {
		t.Error("an update that finishes a create is not covered")
	}
	if Within(create, update) {
		t.Error("an update after a create counts as replication: the create made the object, the update is work left")
	}
	if !Within(create, create) {
		t.Error("a create not visible yet is not replication")
	}
	other := &Change{Address: `group["X"]`, Kind: KindGroup, Action: Update, Fields: []FieldDiff{{Field: "description", After: "e"}}}
	if Within(update, other) {
		t.Error("another field value counts as replication")
	}
}
