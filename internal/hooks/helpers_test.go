package hooks

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
)

// logged is one record a Runner logged, its attributes flattened.
type logged struct {
	msg   string
	attrs map[string]string
}

// recorder is a slog.Handler that keeps every record and wakes waiters.
type recorder struct {
	mu      *sync.Mutex
	recs    *[]logged
	changed *chan struct{}
	with    []slog.Attr
}

func newRecorder() *recorder {
	ch := make(chan struct{})
	return &recorder{mu: &sync.Mutex{}, recs: &[]logged{}, changed: &ch}
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	l := logged{msg: rec.Message, attrs: map[string]string{}}
	for _, a := range r.with {
		l.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool { l.attrs[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	*r.recs = append(*r.recs, l)
	close(*r.changed)
	*r.changed = make(chan struct{})
	r.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.with = append(slices.Clone(r.with), as...)
	return &c
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// records returns the records so far.
func (r *recorder) records() []logged {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(*r.recs)
}

// count returns how many records match.
func (r *recorder) count(match func(logged) bool) int {
	n := 0
	for _, l := range r.records() {
		if match(l) {
			n++
		}
	}
	return n
}

// wait blocks until at least n records match and returns them. A test that
// never gets them ends with go test's -timeout.
func (r *recorder) wait(t *testing.T, n int, match func(logged) bool) []logged {
	t.Helper()
	for {
		r.mu.Lock()
		var got []logged
		for _, l := range *r.recs {
			if match(l) {
				got = append(got, l)
			}
		}
		ch := *r.changed
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %d log records; have %v", n, r.records())
		}
	}
}

func msgIs(msg string) func(logged) bool { return func(l logged) bool { return l.msg == msg } }

func slogLogger(h slog.Handler) *slog.Logger { return slog.New(h) }
