package window

import "testing"

// TestCardCloud: the card names a Microsoft account's national cloud after
// the provider, and says nothing more for the public one.
func TestCardCloud(t *testing.T) {
	w, _ := newTestWindow(t, Options{})
	for _, tc := range []struct{ cloud, want string }{
		{"", " · Microsoft"},
		{"public", " · Microsoft"},
		{"usgov", " · Microsoft US Government cloud"},
		{"china", " · Microsoft China (21Vianet) cloud"},
	} {
		a := okAccount("work")
		a.Cloud = tc.cloud
		w.render(t.Context(), snap(a))
		got := w.cards["work"].who.Text
		if want := "Signed in as Ada Lovelace (ada@contoso.test)" + tc.want; got != want {
			t.Errorf("cloud %q: who = %q; want %q", tc.cloud, got, want)
		}
	}
}
