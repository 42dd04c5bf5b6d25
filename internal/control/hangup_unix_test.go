//go:build !windows

package control

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/wire"
)

// stoppingHandler reports why it stopped: released, or its ctx ended.
type stoppingHandler struct {
	entered chan struct{}
	release chan struct{}
	stopped chan error // nil: released
}

func newStoppingHandler() *stoppingHandler {
	return &stoppingHandler{entered: make(chan struct{}, 1), release: make(chan struct{}), stopped: make(chan error, 1)}
}

func (h *stoppingHandler) Handle(ctx context.Context, req wire.Request) wire.Response {
	h.entered <- struct{}{}
	select {
	case <-ctx.Done():
		h.stopped <- ctx.Err()
		return wire.Failure(wire.CodeFailure, ctx.Err())
	case <-h.release:
		h.stopped <- nil
		return wire.Result("released")
	}
}

// sendRequest dials path and writes one request line.
func sendRequest(t *testing.T, path string, req string) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		t.Fatal(err)
	}
	return c.(*net.UnixConn)
}

// TestHalfClosedRequestIsAnswered: a client that shuts its write side after
// the request (nc -N, shutdown(SHUT_WR)) is still waiting for the answer:
// a slow op is not cancelled and the answer arrives.
func TestHalfClosedRequestIsAnswered(t *testing.T) {
	path := sockPath(t)
	h := newStoppingHandler()
	halfClosed := make(chan struct{}, 1)
	start(t, path, h, func(s *Server) { s.halfClosed = func() { halfClosed <- struct{}{} } })

	c := sendRequest(t, path, `{"proto":2,"op":"refresh","all":true,"timeout":60000000000}`)
	<-h.entered
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.stopped:
		t.Fatalf("handler stopped after the client's half-close: %v; want it still running", err)
	case <-halfClosed: // the server saw the EOF and keeps waiting
	}
	close(h.release)
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	var resp wire.Response
	if err := json.Unmarshal(out, &resp); err != nil || !resp.OK || string(resp.Data) != `"released"` {
		t.Errorf("answer to a half-closed request = %q (%v); want the handler's result", out, err)
	}
}

// TestClientHangupCancelsHandler: a client that is gone (closed, after a
// half-close too) cancels its handler.
func TestClientHangupCancelsHandler(t *testing.T) {
	for _, halfFirst := range []bool{false, true} {
		name := map[bool]string{false: "close", true: "half-close then close"}[halfFirst]
		t.Run(name, func(t *testing.T) {
			path := sockPath(t)
			h := newStoppingHandler()
			halfClosed := make(chan struct{}, 1)
			start(t, path, h, func(s *Server) { s.halfClosed = func() { halfClosed <- struct{}{} } })
			defer close(h.release)

			c := sendRequest(t, path, `{"proto":2,"op":"refresh","all":true,"timeout":60000000000}`)
			<-h.entered
			if halfFirst {
				c.CloseWrite()
				<-halfClosed
			}
			c.Close()
			select {
			case err := <-h.stopped:
				if err != context.Canceled {
					t.Errorf("handler stopped with %v; want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("handler still running 10 s after its client closed")
			}
		})
	}
}
