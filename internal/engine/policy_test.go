package engine

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/config"
)

func testPolicy() policy { return policyFrom(config.Defaults()) }

func TestBackoffSequence(t *testing.T) {
	p := testPolicy() // base 60 s, max 1 h
	want := []time.Duration{
		1 * time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour, time.Hour, time.Hour,
	}
	for i, w := range want {
		if got := p.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v; want %v", i+1, got, w)
		}
	}
	if got := p.backoff(200); got != p.max {
		t.Errorf("backoff(200) = %v; want %v (no overflow)", got, p.max)
	}
}

func TestRetryAtJitterBounds(t *testing.T) {
	p := testPolicy()
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		n          int
		retryAfter time.Duration
		lo, hi     time.Duration
	}{
		{"first", 1, 0, 48 * time.Second, 72 * time.Second},
		{"third", 3, 0, 192 * time.Second, 288 * time.Second},
		{"capped", 8, 0, 48 * time.Minute, 72 * time.Minute},
		{"failing uses max", 10, 0, 48 * time.Minute, 72 * time.Minute},
		{"retry-after wins", 1, 120 * time.Second, 120 * time.Second, 120 * time.Second},
		{"backoff wins over short retry-after", 3, 30 * time.Second, 192 * time.Second, 288 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seenLo, seenHi := false, false
			for range 2000 {
				d := p.retryAt(now, tc.n, tc.retryAfter, r).Sub(now)
				if d < tc.lo || d > tc.hi {
					t.Fatalf("retryAt(n=%d, ra=%v) = now+%v; want in [%v, %v]", tc.n, tc.retryAfter, d, tc.lo, tc.hi)
				}
				span := tc.hi - tc.lo
				seenLo = seenLo || d < tc.lo+span/10
				seenHi = seenHi || d > tc.hi-span/10
			}
			if tc.hi > tc.lo && (!seenLo || !seenHi) {
				t.Errorf("retryAt(n=%d) never came near both bounds: jitter is not ±20 %%", tc.n)
			}
		})
	}
}

func TestJitterBounds(t *testing.T) {
	p := testPolicy()
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		if j := p.jitter(r); j < 0 || j > p.jitterMax {
			t.Fatalf("jitter() = %v; want in [0, %v]", j, p.jitterMax)
		}
	}
	p.jitterMax = 0
	if j := p.jitter(r); j != 0 {
		t.Errorf("jitter() with jitter_max 0 = %v; want 0", j)
	}
}

func TestAutoDue(t *testing.T) {
	p := testPolicy() // interval 1 h, lookahead 5 m, cooldown 10 m
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   dueInputs
		want time.Time
	}{
		{"never refreshed is due at once", dueInputs{}, time.Time{}},
		{"interval", dueInputs{lastSuccess: t0, lastAttempt: t0, accessExpiry: t0.Add(2 * time.Hour)}, t0.Add(time.Hour)},
		{"early: access token expires before the interval", dueInputs{lastSuccess: t0, lastAttempt: t0, accessExpiry: t0.Add(30 * time.Minute)}, t0.Add(25 * time.Minute)},
		{"cooldown beats a 2-minute token", dueInputs{lastSuccess: t0, lastAttempt: t0, accessExpiry: t0.Add(2 * time.Minute)}, t0.Add(10 * time.Minute)},
		{"jitter is added", dueInputs{lastSuccess: t0, lastAttempt: t0, accessExpiry: t0.Add(2 * time.Hour), jitter: 7 * time.Second}, t0.Add(time.Hour + 7*time.Second)},
		{"unknown expiry uses the interval", dueInputs{lastSuccess: t0, lastAttempt: t0}, t0.Add(time.Hour)},
		{"a later failed attempt pushes by cooldown", dueInputs{lastSuccess: t0, lastAttempt: t0.Add(58 * time.Minute), accessExpiry: t0.Add(2 * time.Hour)}, t0.Add(68 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.autoDue(tc.in); !got.Equal(tc.want) {
				t.Errorf("autoDue(%+v) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}
