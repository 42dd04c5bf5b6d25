package engine

import "container/heap"

// schedule is a min-heap of next-due instants (Unix ns, wall clock), one entry
// per scheduled account. Each account records its own place in the heap
// (account.slot), so accounts can come and go without indexes to keep
// stable. It is owned by the Run goroutine and never locked.
type schedule struct {
	items []schedItem
}

type schedItem struct {
	due int64
	a   *account
}

func newSchedule(accounts int) *schedule {
	return &schedule{items: make([]schedItem, 0, accounts)}
}

func (s *schedule) Len() int           { return len(s.items) }
func (s *schedule) Less(i, j int) bool { return s.items[i].due < s.items[j].due }
func (s *schedule) Swap(i, j int) {
	s.items[i], s.items[j] = s.items[j], s.items[i]
	s.items[i].a.slot = int32(i + 1)
	s.items[j].a.slot = int32(j + 1)
}
func (s *schedule) Push(x any) {
	it := x.(schedItem)
	it.a.slot = int32(len(s.items) + 1)
	s.items = append(s.items, it)
}
func (s *schedule) Pop() any {
	n := len(s.items) - 1
	it := s.items[n]
	s.items[n] = schedItem{} // drop the pointer: a removed account must not stay reachable
	s.items = s.items[:n]
	it.a.slot = 0
	return it
}

// index is a's position in this heap, or -1. A slot left over from another
// schedule (an earlier Run) does not name a in this one, so it reads as -1.
func (s *schedule) index(a *account) int {
	p := int(a.slot) - 1
	if p >= 0 && p < len(s.items) && s.items[p].a == a {
		return p
	}
	return -1
}

// set schedules a at due, replacing any earlier entry.
func (s *schedule) set(a *account, due int64) {
	if p := s.index(a); p >= 0 {
		s.items[p].due = due
		heap.Fix(s, p)
		return
	}
	heap.Push(s, schedItem{due: due, a: a})
}

// remove unschedules a (no-op if it is not scheduled).
func (s *schedule) remove(a *account) {
	if p := s.index(a); p >= 0 {
		heap.Remove(s, p)
	}
}

// popDue removes and returns the earliest account if it is due at now.
func (s *schedule) popDue(now int64) (a *account, ok bool) {
	if len(s.items) == 0 || s.items[0].due > now {
		return nil, false
	}
	it := heap.Pop(s).(schedItem)
	return it.a, true
}

// peek returns the earliest due instant.
func (s *schedule) peek() (int64, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	return s.items[0].due, true
}

// when returns the due instant of a.
func (s *schedule) when(a *account) (int64, bool) {
	if p := s.index(a); p >= 0 {
		return s.items[p].due, true
	}
	return 0, false
}
