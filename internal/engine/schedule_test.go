package engine

import (
	"math/rand/v2"
	"testing"
)

func TestScheduleMatchesBruteForce(t *testing.T) {
	const n = 50
	s := newSchedule(n)
	accts := make([]*account, n)
	for i := range accts {
		accts[i] = &account{name: itoa(i)}
	}
	want := map[*account]int64{}
	r := rand.New(rand.NewPCG(5, 6))
	var now int64
	for step := range 5000 {
		switch op := r.IntN(4); op {
		case 0, 1:
			a, d := accts[r.IntN(n)], now+r.Int64N(1000)
			s.set(a, d)
			want[a] = d
		case 2:
			a := accts[r.IntN(n)]
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
					t.Fatalf("step %d: popDue(%d) = account %s (due %d, scheduled %v); want only due accounts", step, now, a.name, d, had)
				}
				delete(want, a)
			}
			for a, d := range want {
				if d <= now {
					t.Fatalf("step %d: account %s due at %d was not popped at %d", step, a.name, d, now)
				}
			}
		}
		if s.Len() != len(want) {
			t.Fatalf("step %d: Len() = %d; want %d", step, s.Len(), len(want))
		}
		for a, d := range want {
			if got, ok := s.when(a); !ok || got != d {
				t.Fatalf("step %d: when(%s) = %d, %v; want %d", step, a.name, got, ok, d)
			}
		}
	}
}

// TestScheduleIgnoresSlotOfAnotherSchedule: an account keeps its heap slot
// from an earlier Run's schedule; the next schedule must not trust it.
func TestScheduleIgnoresSlotOfAnotherSchedule(t *testing.T) {
	a, b, c := &account{name: "a"}, &account{name: "b"}, &account{name: "c"}
	old := newSchedule(2)
	old.set(b, 1)
	old.set(a, 5) // a's slot names the second entry
	s := newSchedule(3)
	s.set(b, 3)
	s.set(c, 4) // the second entry of s is c
	if d, ok := s.when(a); ok {
		t.Errorf("when(a) = %d in a schedule a was never in; want none", d)
	}
	s.remove(a)
	if d, ok := s.when(c); !ok || d != 4 {
		t.Fatalf("remove(a) changed c: when(c) = %d, %v; want 4", d, ok)
	}
	s.set(a, 2)
	for _, want := range []*account{a, b, c} {
		got, ok := s.popDue(10)
		if !ok || got != want {
			t.Fatalf("popDue = %v, %v; want %s", got, ok, want.name)
		}
	}
}
