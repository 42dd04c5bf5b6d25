package hooks

import (
	"context"
	"time"
)

// Bounds of the interval at which group.wait looks whether a hook's
// group is empty.
const (
	firstLook = 5 * time.Millisecond
	lastLook  = 250 * time.Millisecond
)

// wait returns true once g has no process left, false when ctx ends
// first. It looks at growing intervals: what a hook leaves behind is
// rare, and mostly ends soon or runs long.
func (g *group) wait(ctx context.Context) bool {
	d := firstLook
	t := time.NewTimer(d)
	defer t.Stop()
	for !g.empty() {
		select {
		case <-ctx.Done():
			return g.empty()
		case <-t.C:
		}
		d = min(2*d, lastLook)
		t.Reset(d)
	}
	return true
}
