package window

import (
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/state"
)

// TestCardScoped: the card lists the per-resource tokens the keeper holds
// for the account (scopes and until when, never a token) and hides the row
// when there are none.
func TestCardScoped(t *testing.T) {
	a := okAccount("work")
	w, _ := newTestWindow(t, Options{})
	w.render(t.Context(), snap(a))
	l := w.cards["work"].scopedLine
	if l.Visible() {
		t.Fatalf("scoped row without per-resource tokens is shown: %q", l.Text)
	}
	a.Scoped = []state.ScopedStatus{
		{Scopes: []string{"api://reports/.default"}, Expiry: clock.Add(40 * time.Minute)},
		{Scopes: []string{"https://vault.azure.net/.default"}, Expiry: clock.Add(55 * time.Minute)},
	}
	w.render(t.Context(), snap(a))
	want := "Tokens for other resources: api://reports/.default until 13:10; https://vault.azure.net/.default until 13:25"
	if !l.Visible() || l.Text != want {
		t.Errorf("scoped row = %q (visible %v); want %q", l.Text, l.Visible(), want)
	}
	a.Scoped = nil
	w.render(t.Context(), snap(a))
	if l.Visible() {
		t.Errorf("scoped row after the tokens went is shown: %q", l.Text)
	}
}
