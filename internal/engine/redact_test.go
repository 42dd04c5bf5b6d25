package engine

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestRedact: Redact replaces the secrets the engine holds (here the
// refresh and the access token) and leaves other text alone.
func TestRedact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		tok, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		rt := w.storedRT("acct0")
		in := "access " + tok.Token + " refresh " + rt + " end"
		got := w.eng.Redact(in)
		if want := "access " + Redacted + " refresh " + Redacted + " end"; got != want {
			t.Errorf("Redact = %.120q; want %q", got, want)
		}
		for _, s := range []string{"", "short", "nothing secret in this line at all"} {
			if got := w.eng.Redact(s); got != s {
				t.Errorf("Redact(%q) = %q; want it unchanged", s, got)
			}
		}
		if strings.Contains(w.eng.Redact(strings.Repeat(tok.Token, 3)), tok.Token) {
			t.Error("a repeated token survives Redact")
		}
	})
}

// TestLongestSecret: LongestSecret is the length of the longest secret
// Redact replaces.
func TestLongestSecret(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow})
		tok, err := w.eng.Token(t.Context(), "acct0", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := w.eng.LongestSecret(), max(len(tok.Token), len(w.storedRT("acct0"))); got != want {
			t.Errorf("LongestSecret() = %d; want %d (the longer of the access and the refresh token)", got, want)
		}
	})
}
