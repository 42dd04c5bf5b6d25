package engine

import "time"

// budget is a global sliding-window cap: at most len(times) requests in any
// window. times is a ring of the wall-clock instants (Unix ns) of the last
// requests, oldest at head.
type budget struct {
	window int64
	times  []int64
	head   int
	n      int
}

func newBudget(requests int, window time.Duration) *budget {
	if requests < 1 {
		requests = 1
	}
	return &budget{window: int64(window), times: make([]int64, requests)}
}

// next returns 0 if a request may be made at now, otherwise the instant
// (Unix ns) at which the oldest request in the window leaves it.
func (b *budget) next(now int64) int64 {
	if b.n < len(b.times) {
		return 0
	}
	oldest := b.times[b.head]
	if oldest+b.window <= now {
		return 0
	}
	return oldest + b.window
}

// shift moves every recorded request by d (the wall clock was stepped).
func (b *budget) shift(d int64) {
	for i := range b.times {
		if b.times[i] != 0 {
			b.times[i] += d
		}
	}
}

// take records a request at now if the budget allows it and reports whether
// it did; otherwise it returns the instant the next request is allowed.
func (b *budget) take(now int64) (ok bool, until int64) {
	if u := b.next(now); u != 0 {
		return false, u
	}
	if b.n < len(b.times) {
		b.times[(b.head+b.n)%len(b.times)] = now
		b.n++
		return true, 0
	}
	b.times[b.head] = now
	b.head = (b.head + 1) % len(b.times)
	return true, 0
}
