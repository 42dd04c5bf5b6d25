package engine

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/vault"
)

// TestShortLivedTokenRefreshesOncePerHalfLifetime: with 60 s access tokens
// and minValid 5m no held token is ever good enough; Token still refreshes
// at most once per half lifetime (invariant 7) and says the provider's
// lifetime is shorter than asked.
func TestShortLivedTokenRefreshesOncePerHalfLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, lockDir: t.TempDir(), sim: idpsim.Options{AccessTTL: time.Minute}})
		const minValid = 5 * time.Minute
		toks := concurrently(t, 20, "Token()", func() (AccessToken, error) { return w.eng.Token(t.Context(), "acct0", minValid) })
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Fatalf("requests for 20 concurrent Token(5m) calls with 60 s tokens = %d; want 1", n)
		}
		for i, tok := range toks {
			if tok.Token != toks[0].Token || !tok.ShorterThanAsked || tok.Lifetime != time.Minute {
				t.Errorf("Token() call %d = %v, lifetime %v, shorter than asked %v; want the shared token, 1m0s, true", i, tok, tok.Lifetime, tok.ShorterThanAsked)
			}
		}
		for range 10 {
			time.Sleep(time.Second)
			if _, err := w.eng.Token(t.Context(), "acct0", minValid); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests after 10 more calls in 10 s = %d; want still 1", n)
		}
		// Another process (as the CLI is) finds the token in the vault under
		// the lock and applies the same rule.
		if tok, err := w.newEng().Token(t.Context(), "acct0", minValid); err != nil || tok.Token != toks[0].Token {
			t.Errorf("other process Token() = %v, %v; want the held token", tok, err)
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests after another process's Token call = %d; want still 1", n)
		}
		time.Sleep(20 * time.Second) // half the lifetime has passed
		tok, err := w.eng.Token(t.Context(), "acct0", minValid)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(w.tokenRequests("acct0")); n != 2 || tok.Token == toks[0].Token {
			t.Errorf("requests once half the lifetime passed = %d (new token %v); want 2 and a new token", n, tok.Token != toks[0].Token)
		}
		if _, err := w.eng.Token(t.Context(), "acct0", minValid); err != nil {
			t.Fatal(err)
		}
		if n := len(w.tokenRequests("acct0")); n != 2 {
			t.Errorf("requests right after the second refresh = %d; want 2", n)
		}
	})
}

// TestLongLivedTokenRefreshesWhenExpiringWithinMinValid: a provider lifetime
// longer than minValid keeps the plain rule, half-life or not.
func TestLongLivedTokenRefreshesWhenExpiringWithinMinValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{noRun: true, stored: storedNow, sim: idpsim.Options{AccessTTL: time.Hour}})
		const minValid = 5 * time.Minute
		tok, err := w.eng.Token(t.Context(), "acct0", minValid)
		if err != nil {
			t.Fatal(err)
		}
		if tok.ShorterThanAsked || tok.Lifetime != time.Hour {
			t.Errorf("Token() lifetime %v, shorter than asked %v; want 1h0m0s, false", tok.Lifetime, tok.ShorterThanAsked)
		}
		time.Sleep(54 * time.Minute) // past half the lifetime, still valid for 6 min
		if _, err := w.eng.Token(t.Context(), "acct0", minValid); err != nil {
			t.Fatal(err)
		}
		if n := len(w.tokenRequests("acct0")); n != 1 {
			t.Errorf("requests with 6 min left and minValid 5m = %d; want 1", n)
		}
		time.Sleep(2 * time.Minute) // 4 min left
		if _, err := w.eng.Token(t.Context(), "acct0", minValid); err != nil {
			t.Fatal(err)
		}
		if n := len(w.tokenRequests("acct0")); n != 2 {
			t.Errorf("requests with 4 min left and minValid 5m = %d; want 2", n)
		}
	})
}

func TestTokenUsable(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	short := func(age time.Duration) tokenEnv {
		return tokenEnv{obtained: now.Add(-age), expiry: now.Add(-age).Add(time.Minute)}
	}
	tests := []struct {
		name     string
		env      tokenEnv
		minValid time.Duration
		want     bool
	}{
		{"long-lived, valid long enough", tokenEnv{obtained: now, expiry: now.Add(time.Hour)}, 5 * time.Minute, true},
		{"long-lived, expiring within minValid", tokenEnv{obtained: now.Add(-56 * time.Minute), expiry: now.Add(4 * time.Minute)}, 5 * time.Minute, false},
		{"short-lived, new", short(0), 5 * time.Minute, true},
		{"short-lived, just under half", short(29 * time.Second), 5 * time.Minute, true},
		{"short-lived, half gone", short(30 * time.Second), 5 * time.Minute, false},
		{"short-lived, expired", short(2 * time.Minute), 5 * time.Minute, false},
		{"short-lived, obtained in the future, nearly expired", tokenEnv{obtained: now.Add(time.Hour), expiry: now.Add(5 * time.Second)}, 5 * time.Minute, false},
		{"unknown obtained-at, expiring within minValid", tokenEnv{expiry: now.Add(time.Minute)}, 5 * time.Minute, false},
		{"no access token", tokenEnv{obtained: now, expiry: now.Add(time.Hour), none: true}, time.Minute, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokenUsable(tc.env.envelope(), tc.minValid, now); got != tc.want {
				t.Errorf("tokenUsable(obtained %v ago, expires in %v, minValid %v) = %v; want %v",
					now.Sub(tc.env.obtained), tc.env.expiry.Sub(now), tc.minValid, got, tc.want)
			}
		})
	}
}

// tokenEnv is the part of an envelope tokenUsable looks at.
type tokenEnv struct {
	obtained, expiry time.Time
	none             bool // no access token
}

func (e tokenEnv) envelope() vault.Envelope {
	env := vault.Envelope{AccessToken: "at", ObtainedAt: e.obtained, Expiry: e.expiry}
	if e.none {
		env.AccessToken = ""
	}
	return env
}
