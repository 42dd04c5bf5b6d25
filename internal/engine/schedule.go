package engine

import "container/heap"

// schedule is a min-heap of next-due instants (Unix ns, wall clock), one entry
// per scheduled account, addressed by account index. It is owned by the Run
// goroutine and never locked.
type schedule struct {
	items []schedItem
	pos   []int32 // pos[account] = index into items, -1 when not scheduled
}

type schedItem struct {
	due  int64
	acct int32
}

func newSchedule(accounts int) *schedule {
	s := &schedule{items: make([]schedItem, 0, accounts), pos: make([]int32, accounts)}
	for i := range s.pos {
		s.pos[i] = -1
	}
	return s
}

func (s *schedule) Len() int           { return len(s.items) }
func (s *schedule) Less(i, j int) bool { return s.items[i].due < s.items[j].due }
func (s *schedule) Swap(i, j int) {
	s.items[i], s.items[j] = s.items[j], s.items[i]
	s.pos[s.items[i].acct] = int32(i)
	s.pos[s.items[j].acct] = int32(j)
}
func (s *schedule) Push(x any) {
	it := x.(schedItem)
	s.pos[it.acct] = int32(len(s.items))
	s.items = append(s.items, it)
}
func (s *schedule) Pop() any {
	it := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	s.pos[it.acct] = -1
	return it
}

// set schedules account acct at due, replacing any earlier entry.
func (s *schedule) set(acct int, due int64) {
	if p := s.pos[acct]; p >= 0 {
		s.items[p].due = due
		heap.Fix(s, int(p))
		return
	}
	heap.Push(s, schedItem{due: due, acct: int32(acct)})
}

// remove unschedules acct (no-op if it is not scheduled).
func (s *schedule) remove(acct int) {
	if p := s.pos[acct]; p >= 0 {
		heap.Remove(s, int(p))
	}
}

// due returns the account of the earliest entry if it is due at now.
func (s *schedule) popDue(now int64) (acct int, ok bool) {
	if len(s.items) == 0 || s.items[0].due > now {
		return 0, false
	}
	it := heap.Pop(s).(schedItem)
	return int(it.acct), true
}

// peek returns the earliest due instant.
func (s *schedule) peek() (int64, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	return s.items[0].due, true
}

// when returns the due instant of acct.
func (s *schedule) when(acct int) (int64, bool) {
	if p := s.pos[acct]; p >= 0 {
		return s.items[p].due, true
	}
	return 0, false
}
