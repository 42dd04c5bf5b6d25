package engine

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokentray/tokentray/internal/config"
	"github.com/tokentray/tokentray/internal/idpsim"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/vault"
)

// storedNow is a first envelope that was just refreshed, with no access token.
func storedNow(now time.Time) vault.Envelope { return vault.Envelope{ObtainedAt: now} }

func TestIntervalRefreshesOver24h(t *testing.T) {
	tests := []struct {
		name      string
		hours     int
		accessTTL time.Duration
		want      int
	}{
		{"interval 1h", 1, 2 * time.Hour, 24},
		{"interval 24h", 24, 48 * time.Hour, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, worldOpts{
					settings: func(s *config.Settings) { s.Refresh.IntervalHours = tc.hours },
					sim:      idpsim.Options{AccessTTL: tc.accessTTL},
					stored:   storedNow, lockDir: t.TempDir(),
				})
				start := time.Now()
				jmax := config.Defaults().Refresh.JitterMax
				// Every refresh may come up to jitter_max late.
				time.Sleep(24*time.Hour + time.Duration(tc.want)*jmax)
				w.stop()
				reqs := w.tokenRequests("acct0")
				if len(reqs) != tc.want {
					t.Fatalf("refreshes in 24 h = %d; want %d", len(reqs), tc.want)
				}
				interval := time.Duration(tc.hours) * time.Hour
				prev := start
				for i, r := range reqs {
					gap := r.Time.Sub(prev)
					if gap < interval || gap > interval+jmax {
						t.Errorf("refresh %d came %v after the previous; want in [%v, %v]", i+1, gap, interval, interval+jmax)
					}
					prev = r.Time
				}
				if got := w.status("acct0").State; got != state.OK {
					t.Errorf("state = %s; want %s", got, state.OK)
				}
			})
		})
	}
}

func TestShortAccessTokensCannotLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{
			settings: func(s *config.Settings) { s.Refresh.Lookahead = 5 * time.Minute; s.Refresh.Cooldown = 10 * time.Minute },
			sim:      idpsim.Options{AccessTTL: 2 * time.Minute},
		})
		time.Sleep(24 * time.Hour)
		w.stop()
		n := len(w.tokenRequests("acct0"))
		if limit := 24*60/10 + 1; n > limit || n < limit-10 {
			t.Errorf("automatic refreshes in 24 h with 2-minute tokens = %d; want ≤ %d and close to it", n, limit)
		}
	})
}

func TestEarlyRefreshBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, worldOpts{
			sim: idpsim.Options{AccessTTL: 30 * time.Minute},
		})
		time.Sleep(time.Minute) // first refresh happens at once (no access token stored)
		time.Sleep(30 * time.Minute)
		w.stop()
		reqs := w.tokenRequests("acct0")
		if len(reqs) != 2 {
			t.Fatalf("refreshes in 31 min = %d; want 2 (initial, then early)", len(reqs))
		}
		got := reqs[1].Time.Sub(reqs[0].Time)
		lo, hi := 25*time.Minute, 25*time.Minute+config.Defaults().Refresh.JitterMax
		if got < lo || got > hi {
			t.Errorf("early refresh %v after the first; want in [%v, %v] (expiry 30 m − lookahead 5 m, before the 1 h tick)", got, lo, hi)
		}
	})
}
