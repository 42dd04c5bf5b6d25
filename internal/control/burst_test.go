package control

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/wire"
)

// oneRefresh answers token requests from a cache that the first request
// fills with one "refresh", which blocks until release is closed; the
// others wait for it (a singleflight, as the engine's).
type oneRefresh struct {
	entered chan struct{} // a send per handler call
	release chan struct{}

	mu        sync.Mutex
	refreshes int
	flight    chan struct{} // closed when the refresh is done
}

func (h *oneRefresh) Handle(ctx context.Context, req wire.Request) wire.Response {
	h.entered <- struct{}{}
	h.mu.Lock()
	flight, lead := h.flight, h.flight == nil
	if lead {
		h.refreshes++
		h.flight = make(chan struct{})
		flight = h.flight
	}
	h.mu.Unlock()
	if lead {
		select {
		case <-h.release:
		case <-ctx.Done():
			return wire.Failure(wire.CodeFailure, ctx.Err())
		}
		close(flight)
	}
	select {
	case <-flight:
		return wire.Result("tok")
	case <-ctx.Done():
		return wire.Failure(wire.CodeFailure, ctx.Err())
	}
}

// TestBurstIsServed: 200 concurrent token requests while one refresh is in
// flight, more than wire.MaxConns: every one gets the token, from one refresh.
func TestBurstIsServed(t *testing.T) {
	t.Run("queued", func(t *testing.T) { burst(t, nil) })
	// With no waiting room the server refuses as busy and the client
	// sends the request again.
	t.Run("refused and retried", func(t *testing.T) {
		burst(t, func(s *Server) { s.queue = make(chan struct{}) })
	})
}

func burst(t *testing.T, tune func(*Server)) {
	const clients = 200
	path := sockPath(t)
	h := &oneRefresh{entered: make(chan struct{}, 2*clients), release: make(chan struct{})}
	start(t, path, h, tune)
	c := dial(t, path)

	type result struct {
		resp wire.Response
		err  error
	}
	results := make(chan result, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			resp, err := c.Do(t.Context(), wire.Request{Op: wire.OpToken, Account: "work", Timeout: wire.MaxTimeout})
			results <- result{resp, err}
		})
	}
	// Every slot is taken by a request waiting for the refresh before it
	// ends: the rest of the burst arrives at a full server.
	for range wire.MaxConns {
		<-h.entered
	}
	close(h.release)
	wg.Wait()
	close(results)
	served := 0
	for r := range results {
		var tok string
		if r.err != nil || !r.resp.OK || json.Unmarshal(r.resp.Data, &tok) != nil || tok != "tok" {
			t.Errorf("token request in a burst = %+v, %v; want the token", r.resp, r.err)
			continue
		}
		served++
	}
	if served != clients {
		t.Errorf("%d of %d requests served; want all", served, clients)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refreshes != 1 {
		t.Errorf("%d refreshes for the burst; want 1", h.refreshes)
	}
}

// TestQueuedWaitIsBounded: a connection waiting for a slot gets a Busy
// answer once the server's queue wait runs out, and its request is never
// handled.
func TestQueuedWaitIsBounded(t *testing.T) {
	path := sockPath(t)
	h := newBlockingHandler()
	start(t, path, h, func(s *Server) {
		s.conns = make(chan struct{}, 1) // one slot, held by the first request
		s.queueWait = 20 * time.Millisecond
	})
	defer close(h.release)
	c := NewClient(path)
	go c.Do(t.Context(), wire.Request{Op: wire.OpStatus, Timeout: wire.MaxTimeout}) // owned: ends at release
	<-h.entered

	out := rawExchange(t, path, []byte(`{"proto":2,"op":"status"}`+"\n"))
	var resp wire.Response
	if err := json.Unmarshal(out, &resp); err != nil || resp.OK || !resp.Busy || !strings.Contains(resp.Error, "the keeper is busy") {
		t.Errorf("answer after the queue wait = %q (%v); want a Busy refusal", out, err)
	}
	select {
	case <-h.entered:
		t.Error("the queued request was handled after its wait ran out")
	default:
	}
}
