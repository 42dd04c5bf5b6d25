package engine

import (
	"math/rand/v2"
	"testing"
)

func TestScheduleMatchesBruteForce(t *testing.T) {
	const n = 50
	s := newSchedule(n)
	want := map[int]int64{}
	r := rand.New(rand.NewPCG(5, 6))
	var now int64
	for step := range 5000 {
		switch op := r.IntN(4); op {
		case 0, 1:
			a, d := r.IntN(n), now+r.Int64N(1000)
			s.set(a, d)
			want[a] = d
		case 2:
			a := r.IntN(n)
			s.remove(a)
			delete(want, a)
		case 3:
			now += r.Int64N(300)
			for {
				a, ok := s.popDue(now)
				if !ok {
					break
				}
				d, had := want[a]
				if !had || d > now {
					t.Fatalf("step %d: popDue(%d) = account %d (due %d, scheduled %v); want only due accounts", step, now, a, d, had)
				}
				delete(want, a)
			}
			for a, d := range want {
				if d <= now {
					t.Fatalf("step %d: account %d due at %d was not popped at %d", step, a, d, now)
				}
			}
		}
		if s.Len() != len(want) {
			t.Fatalf("step %d: Len() = %d; want %d", step, s.Len(), len(want))
		}
		for a, d := range want {
			if got, ok := s.when(a); !ok || got != d {
				t.Fatalf("step %d: when(%d) = %d, %v; want %d", step, a, got, ok, d)
			}
		}
	}
}
