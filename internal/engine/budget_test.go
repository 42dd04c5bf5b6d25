package engine

import (
	"testing"
	"time"
)

func TestBudgetSlidingWindow(t *testing.T) {
	b := newBudget(3, 10*time.Minute)
	at := func(m int) int64 { return int64(time.Duration(m) * time.Minute) }
	steps := []struct {
		min       int
		wantOK    bool
		wantUntil int64
	}{
		{0, true, 0},
		{1, true, 0},
		{2, true, 0},
		{3, false, at(10)}, // full: the request at 0 leaves the window at 10
		{9, false, at(10)},
		{10, true, 0}, // replaces the one at 0
		{10, false, at(11)},
		{11, true, 0},
		{12, true, 0},
		{13, false, at(20)},
	}
	for _, s := range steps {
		ok, until := b.take(at(s.min))
		if ok != s.wantOK || until != s.wantUntil {
			t.Errorf("take(%dm) = %v, %v; want %v, %v", s.min, ok, time.Duration(until), s.wantOK, time.Duration(s.wantUntil))
		}
	}
}

func TestBudgetNeverExceedsLimitInAnyWindow(t *testing.T) {
	const n, win = 5, int64(time.Minute)
	b := newBudget(n, time.Minute)
	var taken []int64
	for now := int64(0); now < 10*win; now += win / 37 {
		if ok, _ := b.take(now); ok {
			taken = append(taken, now)
		}
	}
	for i := range taken {
		c := 0
		for _, x := range taken[i:] {
			if x < taken[i]+win {
				c++
			}
		}
		if c > n {
			t.Fatalf("%d requests in the window starting at %v; want ≤ %d", c, time.Duration(taken[i]), n)
		}
	}
	if len(taken) < 9*n {
		t.Errorf("took %d requests over 10 windows; want at least %d", len(taken), 9*n)
	}
}
