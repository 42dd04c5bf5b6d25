package state

import (
	"fmt"
	"strings"
	"testing"
)

// TestEpisodes: the keeper's rule for trouble worth telling — an episode of
// needs sign-in or failing starts once, a refresh inside it does not end it,
// any other state ends it, switching kinds starts the new kind, and an
// account gone from the snapshot ends silently.
func TestEpisodes(t *testing.T) {
	type step struct {
		states map[string]State
		want   string // changes, "name+state" for a start, "name-ended>now" for an end
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"once per episode", []step{
			{map[string]State{"a": OK}, ""},
			{map[string]State{"a": NeedsSignIn}, "a+needs_signin"},
			{map[string]State{"a": NeedsSignIn}, ""},
			{map[string]State{"a": Refreshing}, ""},
			{map[string]State{"a": NeedsSignIn}, ""},
			{map[string]State{"a": OK}, "a-needs_signin>ok"},
			{map[string]State{"a": OK}, ""},
			{map[string]State{"a": NeedsSignIn}, "a+needs_signin"},
		}},
		{"failing then needs sign-in", []step{
			{map[string]State{"a": Failing}, "a+failing"},
			{map[string]State{"a": NeedsSignIn}, "a+needs_signin"},
			{map[string]State{"a": SignedOut}, "a-needs_signin>signed_out"},
			{map[string]State{"a": SignedOut}, ""},
		}},
		{"accounts are apart; a removed account ends silently", []step{
			{map[string]State{"a": Failing, "b": OK}, "a+failing"},
			{map[string]State{"b": Failing}, "b+failing"},
			{map[string]State{"a": Failing, "b": Failing}, "a+failing"},
		}},
		{"backing off ends nothing that did not start", []step{
			{map[string]State{"a": BackingOff}, ""},
			{map[string]State{"a": Refreshing}, ""},
			{map[string]State{"a": OK}, ""},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e Episodes
			for i, st := range tt.steps {
				var s Snapshot
				for _, name := range []string{"a", "b"} {
					if state, ok := st.states[name]; ok {
						s.Accounts = append(s.Accounts, AccountStatus{Name: name, State: state})
					}
				}
				var got []string
				for _, c := range e.Update(s) {
					if c.Started {
						got = append(got, fmt.Sprintf("%s+%s", c.Account.Name, c.Account.State))
					} else {
						got = append(got, fmt.Sprintf("%s-%s>%s", c.Account.Name, c.Ended, c.Account.State))
					}
				}
				if g := strings.Join(got, " "); g != st.want {
					t.Errorf("step %d %v: changes %q; want %q", i, st.states, g, st.want)
				}
			}
		})
	}
}
