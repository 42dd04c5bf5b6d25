package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tokentray/tokentray/internal/state"
	"github.com/tokentray/tokentray/internal/wire"
)

// streamingHandler answers subscribe with n snapshots then waits for the
// client to go (or release), and login with a device-code event.
type streamingHandler struct {
	recordingHandler
	n       int
	ended   chan error // why each subscription ended
	release chan struct{}
}

func newStreamingHandler(n int) *streamingHandler {
	return &streamingHandler{n: n, ended: make(chan error, 64), release: make(chan struct{})}
}

func (h *streamingHandler) HandleStream(ctx context.Context, req wire.Request, s *Stream) wire.Response {
	switch req.Op {
	case wire.OpSubscribe:
		for i := range h.n {
			if err := s.Send(wire.EventSnapshot, state.Snapshot{Accounts: []state.AccountStatus{{Name: fmt.Sprint("a", i)}}}); err != nil {
				h.ended <- err
				return wire.Failure(wire.CodeFailure, err)
			}
		}
		if req.Window {
			s.Send(wire.EventShow, Show{Tab: wire.TabSettings})
		}
		select {
		case <-ctx.Done():
			h.ended <- ctx.Err()
		case <-h.release:
			h.ended <- nil
		}
		return wire.Result(nil)
	case wire.OpLogin:
		s.Send(wire.EventPrint, "open http://127.0.0.1/x")
		s.Send(wire.EventDevice, DeviceCode{UserCode: "ABCD", VerificationURI: "https://example.com/device"})
		return wire.Result(state.Result{Account: req.Account, Fresh: true, Saved: true})
	}
	return wire.Failure(wire.CodeUsage, errors.New("not a stream"))
}

func TestSubscribeStreamsSnapshotsAndShow(t *testing.T) {
	path := sockPath(t)
	h := newStreamingHandler(3)
	start(t, path, h, nil)
	c := dial(t, path)

	ctx, cancel := context.WithCancel(t.Context())
	var got []string
	var shows []Show
	err := c.Subscribe(ctx, true, func(s state.Snapshot) {
		got = append(got, s.Accounts[0].Name)
	}, func(sh Show) {
		shows = append(shows, sh)
		cancel() // the client goes away after the show
	})
	if err != nil {
		t.Fatalf("Subscribe() = %v; want nil after ctx ends", err)
	}
	if diff := cmp.Diff([]string{"a0", "a1", "a2"}, got); diff != "" {
		t.Errorf("snapshots (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Show{{Tab: wire.TabSettings}}, shows); diff != "" {
		t.Errorf("shows (-want +got):\n%s", diff)
	}
	select {
	case err := <-h.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler's subscription ended with %v; want its ctx cancelled when the client hung up", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not see the client hang up")
	}
}

func TestSubscribeEndsWhenKeeperEndsIt(t *testing.T) {
	path := sockPath(t)
	h := newStreamingHandler(1)
	start(t, path, h, nil)
	c := dial(t, path)
	n := 0
	close(h.release)
	err := c.Subscribe(t.Context(), false, func(state.Snapshot) { n++ }, nil)
	if err == nil || n != 1 {
		t.Errorf("Subscribe() = %v after %d snapshots; want an error after 1 (the keeper ended it)", err, n)
	}
}

func TestLoginStreamsEvents(t *testing.T) {
	path := sockPath(t)
	start(t, path, newStreamingHandler(0), nil)
	c := dial(t, path)
	var prints []string
	var codes []DeviceCode
	res, err := c.Login(t.Context(), "work", LoginOptions{Device: true,
		OnDevice: func(dc DeviceCode) { codes = append(codes, dc) },
		OnPrint:  func(s string) { prints = append(prints, s) }})
	if err != nil || res.Account != "work" || !res.Fresh {
		t.Fatalf("Login() = %+v, %v; want a fresh result for work", res, err)
	}
	if len(prints) != 1 || len(codes) != 1 || codes[0].UserCode != "ABCD" {
		t.Errorf("events: prints %q, codes %+v; want one of each", prints, codes)
	}
}

func TestStreamOpsNeedAStreamHandler(t *testing.T) {
	path := sockPath(t)
	start(t, path, &recordingHandler{}, nil)
	resp, err := dial(t, path).Do(t.Context(), wire.Request{Op: wire.OpSubscribe})
	if err != nil || resp.OK || resp.Code != wire.CodeUsage || !strings.Contains(resp.Error, `op "subscribe" is not supported`) {
		t.Errorf("subscribe to a plain handler = %+v, %v; want a usage refusal", resp, err)
	}
}

// A client that subscribes and never reads cannot stall the keeper: its
// Send fails within the write timeout and the stream ends.
func TestSlowSubscriberIsDropped(t *testing.T) {
	path := sockPath(t)
	h := newStreamingHandler(1 << 20) // far more than any socket buffer holds
	start(t, path, h, func(s *Server) { s.writeTimeout = 100 * time.Millisecond })
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`{"op":"subscribe","proto":2}` + "\n")) // and never read
	select {
	case err := <-h.ended:
		if err == nil || !strings.Contains(err.Error(), "client stopped reading") {
			t.Errorf("stream ended with %v; want the write timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a subscriber that never reads stalled the handler")
	}
}

func TestStreamLimit(t *testing.T) {
	path := sockPath(t)
	h := newStreamingHandler(1)
	start(t, path, h, nil)
	c := dial(t, path)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	started := make(chan struct{}, wire.MaxStreams)
	for range wire.MaxStreams {
		wg.Go(func() {
			c.Subscribe(ctx, false, func(state.Snapshot) { started <- struct{}{} }, nil)
		})
	}
	for range wire.MaxStreams {
		<-started
	}
	resp, err := c.Do(t.Context(), wire.Request{Op: wire.OpSubscribe})
	if err != nil || resp.OK || !strings.Contains(resp.Error, fmt.Sprintf("%d subscriptions are open", wire.MaxStreams)) {
		t.Errorf("subscription %d = %+v, %v; want a busy refusal", wire.MaxStreams+1, resp, err)
	}
	if _, err := c.Ping(t.Context()); err != nil {
		t.Errorf("Ping with every stream slot taken = %v; want plain requests still served", err)
	}
	cancel()
	wg.Wait()
}

func TestConnectionLimit(t *testing.T) {
	path := sockPath(t)
	start(t, path, &recordingHandler{}, func(s *Server) {
		s.readTimeout = 30 * time.Second
		s.queue = make(chan struct{}) // no waiting room: the next one is refused
	})
	var conns []net.Conn
	for range wire.MaxConns { // silent clients hold every slot
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// The server has accepted them all once one more connection is refused.
	var resp wire.Response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		out := rawExchange(t, path, []byte(`{"op":"ping"}`+"\n"))
		resp = wire.Response{}
		json.Unmarshal(out, &resp)
		if !resp.OK {
			break
		}
	}
	if resp.OK || !resp.Busy || !strings.Contains(resp.Error, fmt.Sprintf("%d connections are open", wire.MaxConns)) {
		t.Errorf("connection %d got %+v; want a busy refusal", wire.MaxConns+1, resp)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := Dial(path); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("Dial after the silent clients left = %v", err)
		}
	}
}

func TestDialRefusesOtherProtocol(t *testing.T) {
	tests := []struct {
		name, reply, want string
	}{
		{"older keeper", `{"ok":true,"data":{"pid":42}}` + "\n", "the running keeper (pid 42) is tokentray an older release (control protocol 1), this is tokentray dev (control protocol 2)"},
		{"newer keeper", `{"ok":true,"data":{"pid":42,"proto":3,"version":"v9.0"}}` + "\n", "is tokentray v9.0 (control protocol 3), this is tokentray dev (control protocol 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Dial(scriptedServer(t, tt.reply))
			if !errors.Is(err, wire.ErrVersionMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Dial = %v; want ErrVersionMismatch naming %q", err, tt.want)
			}
		})
	}
}

func TestRequestAndTokenFormatRedacted(t *testing.T) {
	r := wire.Request{Op: wire.OpImport, Account: "work", Secret: "rt-secret-value"}
	tok := wire.Token{AccessToken: "at-secret-value", Type: "Bearer"}
	for _, s := range []string{fmt.Sprint(r), fmt.Sprintf("%+v %#v", r, r), fmt.Sprint(tok), fmt.Sprintf("%+v %#v", tok, tok)} {
		if strings.Contains(s, "secret-value") {
			t.Errorf("formatted value %q holds a secret", s)
		}
	}
}
